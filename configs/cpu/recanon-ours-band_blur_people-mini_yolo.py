# CPU, "Ours" with a pose band (configs/_base_/pose_band.py says what it is, why, and its settings): the joint
# system of recanon-ours_blur_people-mini_yolo.py (same start, data, batches, P and schedule) with
# y' = A(x) + carrier + B(x), B trained at Adam 1e-3 (the base says why). Its start is the continued
# phase 1 (recanon-native-continued_blur_people-mini_tiles.py: the native run trained 330 epochs more, frame-level
# recovery 27.32 → 28.12 dB), shipped as the asset below; this run's G_X/G_Y/B are the demo asset.
# results/pose-band.md (2026-12-04): P on y' 16.0 mAP@0.5 vs the Conventional 3.9, PSNR/SSIM(o,r) 32.96 / 0.923
# (seed 0, the demo asset; seed 1: 8.6, 33.18 / 0.924).
_base_ = ['./recanon-ours_blur_people-mini_yolo.py', '../_base_/pose_band.py']
load_from = 'mmrecanon/demo_assets/recanon-native-continued_blur_people-mini.pth'
model = dict(pose_band={{_base_.pose_band}}, band_face_loss={{_base_.band_face_loss}})
optim_wrapper = dict(pose_band={{_base_.pose_band_optim}})
