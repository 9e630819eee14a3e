# mmpose-tiny joint training with RTMPose-t as (top-down) P: the CPU tiny config with P switched by one line.
_base_ = [
    '../../configs/_base_/pose/rtmpose_t_coco.py',
    '../../configs/_base_/datasets/mmpose-tiny_recanon.py',
    '../../configs/_base_/recanon_runtime_cpu.py',
]
model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}},
             pose_codec={{_base_.pose_codec}})
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4, val_interval=100)
param_scheduler = [dict(type='ExponentialLR', gamma=0.999, by_epoch=False)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2), logger=dict(interval=1))
log_processor = dict(by_epoch=False, window_size=1)
