# RTMPose-t (top-down) P trained on the original people-mini images only: the "P trained on originals"
# of Tab. 1 (zero-shot row) and the initial P of the people-mini joint runs (configs/cpu/*_p-init.py).
# MMPose's RTMPose-t COCO recipe, sized for the 2-core CPU (measured: results/people-mini.md):
# * 128×96 crops instead of 256×192: the joint CPU configs letter-box frames to 256 px, where people are
#   40–150 px tall, so P sees them near this size there; 4× cheaper.
# * trained from scratch (the recipe's ImageNet backbone is a URL download), BN instead of SyncBN,
#   no EMA, batch 64, AdamW lr 2e-3 (the recipe's 4e-3 at batch 1024 is for 420 epochs), 90 epochs (~20 min):
#   1000-iteration warm-up replaced by 50 iterations, cosine decay over the second half.
_base_ = ['mmpose::body_2d_keypoint/rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py']

max_epochs = 90
stage2_num_epochs = 10
base_lr = 2e-3
train_cfg = dict(max_epochs=max_epochs, val_interval=30)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=max_epochs // 2, end=max_epochs,
         T_max=max_epochs // 2, by_epoch=True, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=64)

codec = dict(type='SimCCLabel', input_size=(96, 128), sigma=(4.9, 5.66), simcc_split_ratio=2.0,
             normalize=False, use_dark=False)
model = dict(
    backbone=dict(norm_cfg=dict(type='BN'), init_cfg=None),
    head=dict(input_size=codec['input_size'], in_featuremap_size=(3, 4), decoder=codec))

data_root = '../shared/data/people-mini/'  # relative to the repository root
# MMPose's RTMPose recipe: stage 2 (the last epochs) with milder box jitter and dropout
def topdown_train_pipeline(bbox_transform: dict, dropout_p: float) -> list:
    return [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='RandomFlip', direction='horizontal'),
        dict(type='RandomHalfBody'),
        dict(type='RandomBBoxTransform', **bbox_transform),
        dict(type='TopdownAffine', input_size=codec['input_size']),
        dict(type='mmdet.YOLOXHSVRandomAug'),
        dict(type='Albumentation', transforms=[
            dict(type='Blur', p=0.1),
            dict(type='MedianBlur', p=0.1),
            dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
                 min_height=0.2, min_width=0.2, p=dropout_p)]),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackPoseInputs'),
    ]


train_pipeline = topdown_train_pipeline(dict(scale_factor=[0.6, 1.4], rotate_factor=80), 1.0)
train_pipeline_stage2 = topdown_train_pipeline(
    dict(shift_factor=0., scale_factor=[0.75, 1.25], rotate_factor=60), 0.5)
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=64, num_workers=2,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=2,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='images/'), pipeline=val_pipeline))
test_dataloader = val_dataloader
custom_hooks = [
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=max_epochs - stage2_num_epochs,
         switch_pipeline=train_pipeline_stage2)
]
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=30, max_keep_ckpts=1))
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
