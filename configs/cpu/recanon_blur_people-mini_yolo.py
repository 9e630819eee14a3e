# CPU: the joint model on people-mini with the BN-free YOLOv8-n P that the converted COCO-pretrained
# Ultralytics weights fill (configs/_base_/pose/yolov8pose_n_coco_fused.py; AGPL-3.0 weights, made by the
# converter command there). The base of the carrier runs and of the pretrained-P "Conventional" baseline.
_base_ = [
    '../_base_/pose/yolov8pose_n_coco_fused.py',
    '../_base_/datasets/people-mini_recanon.py',
    '../_base_/recanon_runtime_cpu.py',
]
model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}},
             pose_codec={{_base_.pose_codec}})
