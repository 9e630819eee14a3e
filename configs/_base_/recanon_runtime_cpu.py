# CPU-sized joint training (2 cores): small generators on 128×128 portraits.
_base_ = ['./recanon_runtime.py']
# U-Net with 7 downsamplings (the smallest of Tab. 4; 128 = 2**7), 16 base channels instead of 64:
# ~16× fewer FLOPs, so a 2-core CPU trains it in minutes.  Discriminators 32 channels.
model = dict(
    enhancer=dict(num_downs=7, base_channels=16),
    recoverer=dict(num_downs=7, base_channels=16),
    disc_enhanced=dict(base_channels=32),
    disc_recovered=dict(base_channels=32),
    portrait_size=128)
# The paper's 3.5e-5 is for 100+ epochs on COCO; short CPU runs use pix2pix's 2e-4 for G/D and 1e-3
# for a P trained from scratch (no pretrained weights can be downloaded here).
gan_adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
optim_wrapper = dict(
    enhancer=gan_adam, recoverer=gan_adam, disc_enhanced=gan_adam, disc_recovered=gan_adam,
    pose_estimator=dict(optimizer=dict(lr=1e-3)))
param_scheduler = [dict(type='ExponentialLR', gamma=0.97, by_epoch=True)]
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=5))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
