"""YOLOv8-n pose estimator P (COCO, 17 keypoints) for the joint ReCanon model.

n: deepen_factor=0.33, widen_factor=0.25 (YOLOv8 scaling). Input 640x640 (YOLOv8's default;
standalone configs may override the codec/pipeline size). Pixels are fed as RGB / 255 like YOLOv8
(mean 0, std 255). Losses use YOLOv8-pose weights (cls 0.5, box 7.5, dfl 1.5, kpt 12.0, vis 1.0)
and COCO OKS sigmas from MMPose's dataset metainfo. Modules come from ``mmrecanon.models.yolo``.

MMPose's idiom: this base defines ``pose_estimator`` (and ``pose_mode``, ``pose_codec``); a joint config writes
``model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}}, ...)`` and a
standalone P config ``model = {{_base_.pose_estimator}}``.
"""
pose_estimator = dict(
    type='BottomupPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[0.0, 0.0, 0.0],
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
        pad_size_divisor=32),  # the largest stride
    backbone=dict(
        type='YOLOv8CSPDarknet',
        deepen_factor=0.33,
        widen_factor=0.25,
        out_indices=(2, 3, 4)),
    neck=dict(
        type='YOLOv8PAFPN',
        in_channels=[256, 512, 1024],
        out_channels=[256, 512, 1024],
        deepen_factor=0.33,
        widen_factor=0.25),
    head=dict(
        type='YOLOv8PoseHead',
        num_keypoints=17,
        in_channels=[256, 512, 1024],
        widen_factor=0.25,
        featmap_strides=(8, 16, 32),
        reg_max=16,
        assigner=dict(type='TaskAlignedAssigner', topk=10, alpha=0.5, beta=6.0),
        loss_cls=dict(type='BCELoss', reduction='sum', loss_weight=0.5),
        loss_bbox=dict(type='CIoULoss', reduction='mean', loss_weight=7.5),
        loss_dfl=dict(type='DFLoss', reduction='mean', loss_weight=1.5),
        loss_kpt=dict(
            type='OKSKeypointLoss',
            metainfo='configs/_base_/datasets/coco.py',
            reduction='mean',
            loss_weight=12.0),
        loss_vis=dict(type='BCELoss', reduction='mean', loss_weight=1.0)),
    test_cfg=dict(
        score_thr=0.01,  # low: COCO AP integrates over all scores
        nms_pre=1000,
        nms_thr=0.65,
        max_per_img=100))
pose_mode = 'bottomup'

pose_codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=(640, 640))
