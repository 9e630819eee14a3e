_base_ = ['./rtmpose_t_coco.py']
# P = RTMPose-s (CSPNeXt-s widths).
pose_estimator = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.5),
    head=dict(in_channels=512))
