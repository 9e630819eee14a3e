"""YOLOv8-s pose estimator P (COCO, 17 keypoints): the n model with widen_factor 0.5 (YOLOv8 scaling)."""
_base_ = ['./yolov8pose_n_coco.py']
pose_estimator = dict(
    backbone=dict(widen_factor=0.5), neck=dict(widen_factor=0.5), head=dict(widen_factor=0.5))
