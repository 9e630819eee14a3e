# YOLOv8-n pose P, standalone, overfitting the 4 COCO images of mmpose-tiny (train = val).
# Used by tools/analysis/overfit_yolo.py and the ONNX export test. CPU-sized: 320x320 input, no
# augmentation at all (deterministic letter-box, no Mosaic/MixUp/flip) so the model can memorise.
_base_ = ['mmpose::_base_/default_runtime.py', '../_base_/pose/yolov8pose_n_coco.py']
custom_imports = dict(imports=['mmrecanon.models.yolo'], allow_failed_imports=False)

input_size = (320, 320)  # small input for 2 CPU cores; multiple of the 32 stride
codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)
pose_codec = codec

# the standalone model is the bare BottomupPoseEstimator from the pose base config
model = {{_base_.pose_estimator}}

# ---------------------------------------------------------------- schedule
max_iters = 600  # overfit_yolo.py overrides this (and the scheduler ends) with --iters
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
# AdamW (robust from scratch on a tiny set); no weight decay: we want to memorise.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.0),
    clip_grad=dict(max_norm=10.0, norm_type=2))  # tames the first iterations of a random init
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=False, begin=30, end=max_iters),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_iters, by_epoch=False, max_keep_ckpts=1))
custom_hooks = []  # no SyncBuffersHook needed on one process
log_processor = dict(by_epoch=False, window_size=10)

# ---------------------------------------------------------------- data
data_root = '../shared/data/mmpose-tiny/'  # relative to the repo root
data_mode = 'bottomup'
meta_keys = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
             'input_scale')
train_pipeline = [
    dict(type='LoadImage'),
    # letter-box exactly like BottomupResize (no shift/scale/rotation)
    dict(type='BottomupRandomAffine', input_size=input_size, shift_prob=0, rotate_prob=0,
         scale_prob=0, scale_type='long', pad_val=(114, 114, 114), bbox_keep_corner=False,
         clip_border=True),
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
    batch_size=4,  # the whole set per iteration (no shuffle: every batch = the 4 images)
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # repeated so that an "epoch" spans 250 iterations: MMEngine's IterBasedTrainLoop sleeps 2 s
    # at every epoch transition, which would otherwise happen every iteration
    dataset=dict(
        type='RepeatDataset',
        times=250,
        dataset=dict(type='CocoDataset', data_root=data_root, data_mode=data_mode,
                     ann_file='coco/test_coco.json', data_prefix=dict(img='coco/'),
                     pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type='CocoDataset', data_root=data_root, data_mode=data_mode,
                 ann_file='coco/test_coco.json', data_prefix=dict(img='coco/'),
                 test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'coco/test_coco.json',
                     score_mode='bbox', nms_mode='none')
test_evaluator = val_evaluator
