"""YOLOv8-n pose P without batch norm (conv + bias + SiLU): the layout of Ultralytics' fused weights.

The COCO-pretrained YOLOv8n-pose in ``../shared/weights/yolov8n-pose-coco/`` ships with batch norm folded
into the convolutions. Converted into this layout (``tools/model_converters/yolov8_pose_to_mmrecanon.py``)
it computes exactly what Ultralytics computes, in training mode too, so fine-tuning starts from the
pretrained function (batch statistics of a BN layout would change it at the first step).

``pretrained_pose`` is where the documented conversion command writes the checkpoint (AGPL-3.0 weights:
never committed). A config starts P from it with one line:
``model = dict(pose_estimator=dict(init_cfg={{_base_.pretrained_pose_init}}))``.
"""
_base_ = ['./yolov8pose_n_coco.py']
pretrained_pose = 'work_dirs/pretrained/yolov8n-pose_coco_fused.pth'
pretrained_pose_init = dict(type='Pretrained', checkpoint=pretrained_pose)
pose_estimator = dict(backbone=dict(norm_cfg=None), neck=dict(norm_cfg=None), head=dict(norm_cfg=None))
