# CPU-sized: ../shared/data/people-mini (303 train / 73 val images, split by scene; see its SOURCES.md).
# 256×256 frames so a 2-core CPU trains the joint model in minutes.
_base_ = ['./coco_recanon.py']
data_root = '../shared/data/people-mini/'
input_size = (256, 256)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupRandomAffine', input_size=input_size, shift_prob=0, rotate_prob=0, scale_prob=0,
         scale_type='long', pad_val=(114, 114, 114), bbox_keep_corner=False, clip_border=True),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='FilterAnnotations', by_kpt=True, by_box=True, keep_empty=False),
    dict(type='GenerateTarget', encoder=dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='YOLOLetterBox', input_size=input_size, pad_val=(114, 114, 114)),
    dict(type='PortraitBoxes', from_space='image'),
    dict(type='PackPoseInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='images/'), pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PortraitQualityMetric'),
    dict(type='MultiViewPoseMetric',
         metric=dict(type='CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val.json',
                     score_mode='bbox', nms_mode='none')),
]
test_evaluator = val_evaluator
