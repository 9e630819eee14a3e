# Ablation of the pose band (results/pose-band.md): the same run with B replaced by one learned image that
# is the same for every portrait (TemplateBand: x is ignored). What P gains here is what a fixed mark on
# every person gives; the pose band's gain beyond it is what the band knows about the person.
# Same bound (0.2), face penalty and schedule as the pose-band config; its optimizer at Adam 2e-4, the band
# config's rate on 2026-12-03 (the band config trains B at 1e-3 since 2026-12-04).
_base_ = ['../cpu/recanon-ours-band_blur_people-mini_yolo.py']
# measured with L_cons = L1 alone (the base config added its SSIM term on 2026-12-06)
model = dict(pose_band=dict(_delete_=True, type='TemplateBand', size=128, bound=0.2, init_std=0.002),
             consistency_loss=dict(ssim_weight=0.0))
# As measured (2026-12-03): the band config's start and band rate of then (the base now starts from the third
# continued phase 1, with the SSIM term, and trains B at 1e-3; at that time native tiles also carried a band, which the code no
# longer does, so a re-run differs in that).
load_from = 'mmrecanon/demo_assets/recanon-native_blur_people-mini.pth'
optim_wrapper = dict(pose_band=dict(optimizer=dict(lr=2e-4)))
