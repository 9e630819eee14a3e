"""YOLOv8-s pose estimator P for MPII (16 keypoints)."""
_base_ = ['./yolov8pose_s_coco.py']
pose_estimator = dict(head=dict(
    num_keypoints=16, loss_kpt=dict(metainfo='configs/_base_/datasets/mpii.py')))
