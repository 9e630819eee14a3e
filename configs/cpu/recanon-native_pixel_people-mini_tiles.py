# CPU, the carrier design at the person's own resolution for pixelation r = 12 (the paper's second
# desensitizer, issue #13): the blur run's recipe (recanon-native_blur_people-mini_tiles.py) with A =
# pixelation, block 12 at the 128-px portrait scale (12·k frame pixels at the person's scale k).
# Fine-tuned from the blur run's G_X/G_Y (the Apache-2.0 demo asset; `load_from`): the carrier and the
# recovery mechanics are the same, only A changes, so a short CPU run starts far above a from-scratch one.
# Reason for the deviation: the 2-core budget (one ~50-min run); the paper trains each desensitizer from
# ImageNet-initialised networks.
_base_ = ['./recanon-native_blur_people-mini_tiles.py']
desensitizer = dict(type='Desensitizer', kind='pixelate', block=12)
tile = 128
model = dict(desensitizer=desensitizer)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='NativePersonTile', desensitizer=desensitizer, tile=tile, margin=1.25, portrait_prob=0.25,
         pick='region'),
    dict(type='PackPoseInputs', meta_keys=('id', 'img_id', 'img_path', 'tile_valid')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
load_from = 'mmrecanon/demo_assets/recanon-native_blur_people-mini.pth'
# 13 iterations per epoch; 300 epochs ≈ 50 min on one thread of this CPU (0.72-0.8 s/it). Adam 5e-4 cosine
# to 1 %, as the blur run (its weights are a start, not an optimum for this A).
max_epochs = 300
budget_minutes = 55
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs,
                        eta_min=5e-6, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='TorchRNGStateHook'), dict(type='TrainTimeBudgetHook', minutes=budget_minutes)]
