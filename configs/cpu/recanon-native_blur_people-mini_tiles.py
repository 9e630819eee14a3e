# CPU, the carrier design at the person's own resolution (results/recovery.md, "frame level"): G_X and G_Y
# trained from scratch on the tiles the inference API cuts from full-resolution frames
# (models/utils/tiles.py): each person's region (box × 1.25, whole pixels) at the frame's own resolution,
# 128-px tiles (the last ones smaller, replicate-padded), A at the person's scale (blur σ = 8 · k,
# k = region side / 128). A quarter of the samples are whole-person 128-px portraits (A at scale 1), so
# tools/test.py's portrait numbers and the frame-level P training keep working with the same G_X/G_Y.
# Tiles train G_X and G_Y only (λ3 = 0, no GAN, as the portrait run): P needs frames.
#
# History (results/recovery.md): a first version fine-tuned the portrait run's weights in two phases,
# tiles drawn uniformly over all tiles (pick='tile'), then per person. Drawing per tile gives the few big
# people most of the samples; at its epoch 40 small people (one tile each) were the worst recovered
# (23 dB vs 27 dB for people over 128 px). This run draws per person from the start (pick='region').
_base_ = ['./recanon-carrier_blur_people-mini_portraits.py']
desensitizer = dict(type='Desensitizer', kind='blur', radius=8)  # A: one config for the model and the tiles
tile = 128  # = portrait_size = 2 ** num_downs
model = dict(native_resolution=True, desensitizer=desensitizer)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='NativePersonTile', desensitizer=desensitizer, tile=tile, margin=1.25, portrait_prob=0.25,
         pick='region'),
    dict(type='PackPoseInputs', meta_keys=('id', 'img_id', 'img_path', 'tile_valid')),
]
# batch 24 tiles ≈ the portrait run's 23 portraits per iteration (the same cost per iteration)
train_dataloader = dict(batch_size=24, dataset=dict(pipeline=train_pipeline))
# From scratch: Adam 5e-4 as the portrait run (no GAN), cosine to 1 % over the run. 13 iterations per
# epoch (303 images, one tile each). max_epochs is sized to the measured speed so that the cosine ends
# inside the budget (process CPU minutes: two threads count twice); the budget stops the run in any case.
max_epochs = 560
budget_minutes = 200
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs,
                        eta_min=5e-6, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs, val_interval=100000)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=20, max_keep_ckpts=3))
custom_hooks = [dict(type='TorchRNGStateHook'), dict(type='TrainTimeBudgetHook', minutes=budget_minutes)]
