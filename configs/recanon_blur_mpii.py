# Paper setting: MPII (16 keypoints), Gaussian blur r = 8.
_base_ = [
    './_base_/pose/yolov8pose_s_mpii.py',
    './_base_/datasets/mpii_recanon.py',
    './_base_/recanon_runtime.py',
]
model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}},
             pose_codec={{_base_.pose_codec}})
