# The "pre" P of Tab. 1/2: the COCO-pretrained YOLOv8n-pose (converted Ultralytics weights, AGPL-3.0; see
# configs/_base_/pose/yolov8pose_n_coco_fused.py for the command) fine-tuned on people-mini originals.
# BN-free layout: the pretrained function is kept exactly, in training mode too.
# Training resolution `input_size` was chosen by measuring speed and AP (results/p-pretrained.md).
# Fine-tune recipe (a short CPU run, not YOLOv8's 300-epoch schedule): no Mosaic (it would shift the input
# distribution for a model that already works), mild random affine, HSV, flip; AdamW 2e-4 with a 1-epoch
# warm-up and cosine decay; 10 epochs.
_base_ = ['mmpose::_base_/default_runtime.py', '../_base_/pose/yolov8pose_n_coco_fused.py']
custom_imports = dict(imports=['mmrecanon.models.yolo', 'mmrecanon.datasets'], allow_failed_imports=False)

input_size = (320, 320)
codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)
pose_codec = codec
model = dict(**_base_.pose_estimator, init_cfg={{_base_.pretrained_pose_init}})

max_epochs = 10
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
    clip_grad=dict(max_norm=10.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=2e-6, by_epoch=True, begin=1, end=max_epochs,
         T_max=max_epochs - 1, convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2))

data_root = '../shared/data/people-mini/'
meta_keys = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
             'input_scale')
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupRandomAffine', input_size=input_size, shift_factor=0.1, rotate_factor=10,
         scale_factor=(0.75, 1.25), pad_val=114, distribution='uniform', transform_mode='perspective',
         bbox_keep_corner=False, clip_border=True),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip'),
    dict(type='FilterAnnotations', by_kpt=True, by_box=True, keep_empty=False),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='YOLOLetterBox', input_size=input_size, pad_val=(114, 114, 114)),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoDataset', data_root=data_root, data_mode='bottomup',
                 ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type='CocoDataset', data_root=data_root, data_mode='bottomup',
                 ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='images/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val.json',
                     score_mode='bbox', nms_mode='none')
test_evaluator = val_evaluator
