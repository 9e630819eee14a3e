# CPU, "Ours" with a pose band (configs/_base_/pose_band.py says what it is, why, and its settings): the joint
# system of recanon-ours_blur_people-mini_yolo.py (same data, batches, P and schedule) with
# y' = A(x) + carrier + B(x), B trained at Adam 1e-3 (the base says why), and L_cons with its SSIM term
# (ConsistencyLoss(ssim_weight=1), as in the phase 1 this run starts from). Its start is the phase 1 continued a
# third time with that term (recanon-native-continued3-ssim_blur_people-mini_tiles.py: portrait 34.41 dB / SSIM
# 0.942, frame level 28.78 dB), shipped as the asset below; this run's G_X/G_Y/B (seed 1) are the demo asset.
# results/pose-band.md (2026-12-06): seed 1 P on y' 16.3 mAP@0.5 vs the Conventional 3.9, PSNR/SSIM(o,r) 33.95 /
# 0.9396, leak +0.13 dB, dlib re-ID on y' 0 of 19 faces; seed 0 10.6, 33.79 / 0.9387, but dlib re-identifies 2
# of 19 faces on its y' (A(x): none), so it is not the asset. The previous version of this config (the first
# continued phase 1, L1 alone; 16.0, 32.96 / 0.923) is in the git history and in pose-band.md.
_base_ = ['./recanon-ours_blur_people-mini_yolo.py', '../_base_/pose_band.py']
load_from = 'mmrecanon/demo_assets/recanon-native-continued3-ssim_blur_people-mini.pth'
model = dict(pose_band={{_base_.pose_band}}, band_face_loss={{_base_.band_face_loss}},
             consistency_loss=dict(ssim_weight=1.0))
optim_wrapper = dict(pose_band={{_base_.pose_band_optim}})
