# Ablation (results/pose-band.md, "P on x'"): "Ours + pose band" (../cpu/recanon-ours-band_blur_people-mini_yolo.py:
# same data and schedule; the start, band rate and L_cons it was measured with are set below) with a pose-feature term on recovery (PoseFeatureLoss, not in the paper): x'
# and x should look alike to the frozen "pre" (the zero-shot P, trained on originals), level by level of its
# neck. Why: the frozen "pre" loses 15.8 mAP@0.5 on x' (40.3 vs 56.1), 11.8 of them beyond the 128-px round
# trip (52.1), while white noise with the RMS of x' − x costs it 4.1 (results/recovered-pose.md): L1 alone
# leaves errors where P looks.
# loss_weight 50 (unstated anywhere): the term, a relative squared error, is then as large as λ2·L_cons at
# this start (measured over the first 30 iterations: relative error 0.074–0.077, 100·L1 = 3.6–3.7; a first
# start at weight 10 was stopped after 30 iterations for being a fifth of it); no other weight was measured.
# Measured (10 epochs, 740 iterations, 32.5 min wall with another run on the other core): "pre" on x' 42.4 vs
# 40.3 without the term, the run's own P on x' 38.3 vs 38.2, P on y' 8.9 vs 11.5 (seeds of the band config:
# 11.5 / 12.5), PSNR(o,r) 32.65 vs 32.67: a small gain for a P that never saw x', none for the joint P, so the
# band config does not take it. Speed: 2.44–2.5 s/it vs 2.2–2.36 s/it without, both with a second run beside.
_base_ = ['../cpu/recanon-ours-band_blur_people-mini_yolo.py']
# measured with L_cons = L1 alone (the base config added its SSIM term on 2026-12-06)
model = dict(recovery_feature_loss=dict(type='PoseFeatureLoss', loss_weight=50.0), consistency_loss=dict(ssim_weight=0.0))
# As measured (2026-12-03): the band config's start and band rate of then (the base now starts from the third
# continued phase 1, with the SSIM term, and trains B at 1e-3; at that time native tiles also carried a band, which the code no
# longer does, so a re-run differs in that).
load_from = 'mmrecanon/demo_assets/recanon-native_blur_people-mini.pth'
optim_wrapper = dict(pose_band=dict(optimizer=dict(lr=2e-4)))
