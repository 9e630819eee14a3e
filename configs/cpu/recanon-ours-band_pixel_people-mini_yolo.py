# CPU, "Ours" for pixelation r = 12 with the pose band (configs/_base_/pose_band.py, the same settings as for
# blur, B at Adam 1e-3 included) and L_cons with its SSIM term: the blur band config's recipe
# (recanon-ours-band_blur_people-mini_yolo.py) on recanon-ours_pixel_people-mini_yolo.py. Its start is the
# pixelation phase 1 of recanon-native-ssim_pixel_people-mini_tiles.py (from the blur phase 1 continued a third
# time, with the SSIM term), G_X/G_Y only:
#   python tools/make_demo_checkpoint.py work_dirs/native_ssim_pixel/epoch_200.pth \
#       --out work_dirs/native_ssim_pixel/generators.pth
# The previous version (the first pixelation phase 1, L1 alone, B at 2e-4: P on y' 5.1 / 5.7 vs the
# Conventional 6.6) is in the git history and in results/pose-band.md.
_base_ = ['./recanon-ours_pixel_people-mini_yolo.py', '../_base_/pose_band.py']
load_from = 'work_dirs/native_ssim_pixel/generators.pth'
model = dict(pose_band={{_base_.pose_band}}, band_face_loss={{_base_.band_face_loss}},
             consistency_loss=dict(ssim_weight=1.0))
optim_wrapper = dict(pose_band={{_base_.pose_band_optim}})
