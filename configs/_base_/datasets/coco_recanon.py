# Whole frames (bottom-up data mode): the model crops every person itself.
# Augmentation as in the paper: horizontal flip + HSV jitter; frames letter-boxed to `input_size`.
data_root = 'data/coco/'
input_size = (640, 640)
meta_keys = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
             'input_scale', 'flip', 'flip_direction', 'flip_indices', 'portrait_bboxes')
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
    dict(type='BottomupResize', input_size=input_size, pad_val=(114, 114, 114)),
    dict(type='PortraitBoxes', from_space='image'),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=16,  # paper
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoDataset', data_root=data_root, data_mode='bottomup',
                 ann_file='annotations/person_keypoints_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type='CocoDataset', data_root=data_root, data_mode='bottomup',
                 ann_file='annotations/person_keypoints_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PortraitQualityMetric'),
    dict(type='MultiViewPoseMetric',
         metric=dict(type='CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val2017.json',
                     score_mode='bbox', nms_mode='none')),
]
test_evaluator = val_evaluator
