# CPU: joint training on people-mini (real people), Gaussian blur r = 8 at the 128-px portrait scale.
_base_ = [
    '../_base_/pose/yolov8pose_n_coco.py',
    '../_base_/datasets/people-mini_recanon.py',
    '../_base_/recanon_runtime_cpu.py',
]
model = {{_base_.recanon_model}}
train_cfg = dict(max_epochs=30, val_interval=10)
