# CPU smoke/overfit: the 4 COCO images of mmpose-tiny (train = val), iteration-based.
_base_ = [
    '../_base_/pose/yolov8pose_n_coco.py',
    '../_base_/datasets/mmpose-tiny_recanon.py',
    '../_base_/recanon_runtime_cpu.py',
]
model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}},
             pose_codec={{_base_.pose_codec}})
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=300, val_interval=100)
param_scheduler = [dict(type='ExponentialLR', gamma=0.999, by_epoch=False)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=100))
log_processor = dict(by_epoch=False)
