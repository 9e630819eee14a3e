# MPII as whole frames (bottom-up data mode); PCKh@0.5 after matching predictions to people.
_base_ = ['./coco_recanon.py']
data_root = 'data/mpii/'
train_dataloader = dict(dataset=dict(
    type='MpiiDataset', data_root=data_root, ann_file='annotations/mpii_train.json',
    data_prefix=dict(img='images/')))
val_dataloader = dict(dataset=dict(
    type='MpiiDataset', data_root=data_root, ann_file='annotations/mpii_val.json',
    data_prefix=dict(img='images/')))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PortraitQualityMetric'),
    dict(type='MultiViewPoseMetric', metric=dict(type='MatchedPCKhMetric')),
]
test_evaluator = val_evaluator
