"""YOLOv8-n pose estimator P for MPII: 16 keypoints, MPII OKS sigmas from MMPose's dataset metainfo."""
_base_ = ['./yolov8pose_n_coco.py']
pose_estimator = dict(head=dict(
    num_keypoints=16, loss_kpt=dict(metainfo='configs/_base_/datasets/mpii.py')))
