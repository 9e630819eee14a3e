# Ablation (issue #13, blur): the banded blur "Ours" with the band B at its first learning rate, Adam 2e-4,
# instead of the adopted 1e-3 (configs/_base_/pose_band.py says why it changed). Since native tiles carry no
# band of their own (ReCanon.frame_band), B gets gradients on the frame batches only. Measured
# (results/pose-band.md, 2026-12-04): from the continued phase 1 (this config) P on y' 8.6 mAP@0.5 vs 16.0 / 8.6 (seeds 0 / 1)
# at 1e-3; from the first phase-1 asset (`--cfg-options load_from=mmrecanon/demo_assets/recanon-native_blur_people-mini.pth`)
# 9.1 / 8.5 (seeds 0 / 1) vs 12.1 / 11.5. Everything else as the base, except its start and L_cons (below),
# which are the base's of 2026-12-04.
_base_ = ['../cpu/recanon-ours-band_blur_people-mini_yolo.py']
optim_wrapper = dict(pose_band=dict(optimizer=dict(lr=2e-4)))
# measured from the first continued phase 1 with L_cons = L1 alone (the base config moved on 2026-12-06)
load_from = 'mmrecanon/demo_assets/recanon-native-continued_blur_people-mini.pth'
model = dict(consistency_loss=dict(ssim_weight=0.0))
