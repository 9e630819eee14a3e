# Smoke/overfit data: the 4 COCO images (14 people) of ../shared/data/mmpose-tiny, train = val.
_base_ = ['./people-mini_recanon.py']
data_root = '../shared/data/mmpose-tiny/'
# RepeatDataset: with 4 images every iteration would end an epoch, and MMEngine's iteration loop
# pauses 2 s at each epoch end (the data loader restart).
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='RepeatDataset', times=1000, dataset=dict(
        type='CocoDataset', data_mode='bottomup', data_root=data_root, ann_file='coco/test_coco.json',
        data_prefix=dict(img='coco/'), pipeline={{_base_.train_pipeline}})))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='coco/test_coco.json', data_prefix=dict(img='coco/')))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PortraitQualityMetric'),
    dict(type='MultiViewPoseMetric',
         metric=dict(type='CocoMetric', ann_file=data_root + 'coco/test_coco.json',
                     score_mode='bbox', nms_mode='none')),
]
test_evaluator = val_evaluator
