_base_ = ['./rtmpose_t_coco.py']
# P = RTMPose-t for the 16 MPII keypoints.
pose_estimator = dict(head=dict(out_channels=16))
