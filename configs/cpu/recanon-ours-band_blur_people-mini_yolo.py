# CPU, "Ours" with a pose band (configs/_base_/pose_band.py says what it is, why, and its settings): the joint
# system of recanon-ours_blur_people-mini_yolo.py (same data, batches, P and schedule) with
# y' = A(x) + carrier + B(x), B trained at Adam 1e-3 (the base says why), and L_cons with its SSIM term
# (ConsistencyLoss(ssim_weight=1), as in the phase 1 this run starts from). Its start is the phase 1 continued a
# fourth time (recanon-native-continued4-ssim_blur_people-mini_tiles.py: portrait 34.51 dB / SSIM 0.9445, frame
# level 28.90 dB), shipped as the asset below; this run's G_X/G_Y/B (seed 1) are the demo asset since 2026-12-07.
# results/pose-band.md (2026-12-07, one seed): P on y' 12.2 mAP@0.5 vs the Conventional 3.9 (through the API at
# full resolution 8.9 vs 3.7), PSNR/SSIM(o,r) 33.71 / 0.9408, leak −0.03 dB, dlib re-ID on y' 0 of 19 faces.
# The previous start (the third continuation: seeds 0 / 1 / 2 at 10.6 / 16.3 / 15.4, SSIM 0.9387-0.9396, the
# API's +4.5 for seed 1) and the first continued phase 1 (L1 alone; 16.0, 32.96 / 0.923) are in the git
# history and in pose-band.md.
_base_ = ['./recanon-ours_blur_people-mini_yolo.py', '../_base_/pose_band.py']
load_from = 'mmrecanon/demo_assets/recanon-native-continued4-ssim_blur_people-mini.pth'
model = dict(pose_band={{_base_.pose_band}}, band_face_loss={{_base_.band_face_loss}},
             consistency_loss=dict(ssim_weight=1.0))
optim_wrapper = dict(pose_band={{_base_.pose_band_optim}})
