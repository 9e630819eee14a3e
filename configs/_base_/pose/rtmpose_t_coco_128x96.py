# P = RTMPose-t on 128×96 person crops (4× cheaper than 256×192): the size people have in the CPU configs'
# 256-px letter-boxed frames.
_base_ = ['./rtmpose_t_coco.py']
pose_codec = dict(type='SimCCLabel', input_size=(96, 128), sigma=(4.9, 5.66), simcc_split_ratio=2.0,
                  normalize=False, use_dark=False)
pose_estimator = dict(head=dict(input_size=(96, 128), in_featuremap_size=(3, 4), decoder=pose_codec))
