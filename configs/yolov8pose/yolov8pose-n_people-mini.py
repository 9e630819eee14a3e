# YOLOv8-n pose P, standalone training on people-mini (COCO-17 keypoints, 303 train / 73 val
# images, long side <= 640), sized for the 2-core CPU: 256×256 frames (the joint CPU configs'
# frame size, so this P can initialise theirs) and 70 epochs (~30 min). On a GPU use
# input_size = (640, 640) and max_epochs = 300.
# Augmentation follows MMPose's RTMO/YOLOX-Pose recipe minus MixUp (YOLOv8-n uses none):
# Mosaic + random affine + HSV + flip, with Mosaic switched off for the last 10 epochs
# (YOLOv8's close_mosaic=10).
_base_ = ['mmpose::_base_/default_runtime.py', '../_base_/pose/yolov8pose_n_coco.py']
custom_imports = dict(imports=['mmrecanon.models.yolo'], allow_failed_imports=False)

input_size = (256, 256)  # CPU; YOLOv8's default is 640 (people-mini images are at most 640 px long)
codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)
pose_codec = codec
model = {{_base_.pose_estimator}}

# ---------------------------------------------------------------- schedule
# CPU budget: 19 iterations per epoch at bs 16, ~27 s per epoch here. Measured: from scratch, OKS AP@0.5
# stays below 1 % through epoch 40 (results/people-mini.md), so the people-mini table uses RTMPose-t.
max_epochs = 70
close_mosaic_epochs = 10
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=10)
optim_wrapper = dict(
    type='OptimWrapper',
    # AdamW lr 2e-3 for batch 16 (YOLOv8's 'auto' optimiser picks AdamW ~1e-3..2e-3 for short
    # schedules); wd 0.05 and no decay on norms/biases as in MMPose's RTMO configs
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
    clip_grad=dict(max_norm=10.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),  # 3 warm-up epochs, as YOLOv8
    dict(type='CosineAnnealingLR', eta_min=2e-5, by_epoch=True, begin=3, end=max_epochs,
         T_max=max_epochs - 3, convert_to_iter_based=True),  # lrf = 0.01, as YOLOv8
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2,
                    save_best='coco/AP', rule='greater'))

# ---------------------------------------------------------------- data
data_root = '../shared/data/people-mini/'  # relative to the repo root
data_mode = 'bottomup'
meta_keys = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
             'input_scale')
train_pipeline_stage1 = [
    dict(type='LoadImage'),
    dict(type='Mosaic', img_scale=input_size, pad_val=114.0,
         pre_transform=[dict(type='LoadImage')]),
    dict(type='BottomupRandomAffine', input_size=input_size, shift_factor=0.1,
         rotate_factor=10, scale_factor=(0.75, 1.0), pad_val=114, distribution='uniform',
         transform_mode='perspective', bbox_keep_corner=False, clip_border=True),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip'),
    dict(type='FilterAnnotations', by_kpt=True, by_box=True, keep_empty=False),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_pipeline_stage2 = [
    dict(type='LoadImage'),
    dict(type='BottomupRandomAffine', input_size=input_size, shift_prob=0, rotate_prob=0,
         scale_prob=0, scale_type='long', pad_val=(114, 114, 114), bbox_keep_corner=False,
         clip_border=True),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip'),
    dict(type='FilterAnnotations', by_kpt=True, by_box=True, keep_empty=False),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupResize', input_size=input_size, pad_val=(114, 114, 114)),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoDataset', data_root=data_root, data_mode=data_mode,
                 ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='images/'), pipeline=train_pipeline_stage1))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type='CocoDataset', data_root=data_root, data_mode=data_mode,
                 ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='images/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric',
                     ann_file=data_root + 'annotations/person_keypoints_val.json',
                     score_mode='bbox', nms_mode='none')
test_evaluator = val_evaluator

custom_hooks = [
    dict(type='YOLOXPoseModeSwitchHook', num_last_epochs=close_mosaic_epochs,
         new_train_pipeline=train_pipeline_stage2, priority=48),
    dict(type='SyncBuffersHook'),
]
