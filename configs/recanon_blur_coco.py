# Paper setting: COCO, Gaussian blur r = 8, U-Net G_X/G_Y (8 downsamplings), batch 16.
# P is the one `_base_/pose/*.py` line; e.g. './_base_/pose/rtmpose_t_coco.py' for RTMPose.
_base_ = [
    './_base_/pose/yolov8pose_s_coco.py',
    './_base_/datasets/coco_recanon.py',
    './_base_/recanon_runtime.py',
]
model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}},
             pose_codec={{_base_.pose_codec}})
