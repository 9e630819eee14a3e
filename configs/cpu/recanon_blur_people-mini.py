# CPU: joint training on people-mini (real people), Gaussian blur r = 8 at the 128-px portrait scale.
_base_ = [
    '../_base_/pose/yolov8pose_n_coco.py',
    '../_base_/datasets/people-mini_recanon.py',
    '../_base_/recanon_runtime_cpu.py',
]
model = {{_base_.recanon_model}}
# 15 epochs (570 iterations at batch 8) take ~28 min on the 2-core CPU: the demo checkpoint's budget.
train_cfg = dict(max_epochs=15, val_interval=15)
