# CPU: joint training on people-mini with RTMPose-t (top-down, on 128×96 person crops) as P — the
# alternative P, switched by the first `_base_` line. Top-down P learns from ~1,000 people on a CPU far
# faster than a one-stage P learns to detect them (YOLOv8-n from scratch: OKS AP@0.5 < 1 % after 48
# epochs, 20 min; results/people-mini.md), so the people-mini table uses this P.
_base_ = [
    '../_base_/pose/rtmpose_t_coco_128x96.py',
    '../_base_/datasets/people-mini_recanon.py',
    '../_base_/recanon_runtime_cpu.py',
]
model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}},
             pose_codec={{_base_.pose_codec}})
train_cfg = dict(max_epochs=15, val_interval=15)
