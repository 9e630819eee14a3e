# Paper setting: MPII (16 keypoints), Gaussian blur r = 8.
_base_ = [
    './_base_/pose/yolov8pose_s_mpii.py',
    './_base_/datasets/mpii_recanon.py',
    './_base_/recanon_runtime.py',
]
model = {{_base_.recanon_model}}
