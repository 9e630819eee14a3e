# CPU: joint training on people-mini (real people), Gaussian blur r = 8 at the 128-px portrait scale.
_base_ = [
    '../_base_/pose/yolov8pose_n_coco.py',
    '../_base_/datasets/people-mini_recanon.py',
    '../_base_/recanon_runtime_cpu.py',
]
model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}},
             pose_codec={{_base_.pose_codec}})
# 15 epochs (570 iterations at batch 8) take ~28 min on the 2-core CPU: the demo checkpoint's budget.
train_cfg = dict(max_epochs=15, val_interval=15)
