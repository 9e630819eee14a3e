# Joint ReCanon training: model parts other than P, optimizers, schedule, hooks.
# P comes from one `_base_/pose/*.py` line in each leaf config, which then writes (MMPose's idiom)
# model = dict(pose_estimator={{_base_.pose_estimator}}, pose_mode={{_base_.pose_mode}},
#              pose_codec={{_base_.pose_codec}})
_base_ = ['mmpose::_base_/default_runtime.py']

# Hyperparameters the paper leaves open (see README "Hyperparameters"):
#   T = 0.05 in [-1, 1] units (≈ 6 grey levels): G_X may deviate that far from A(x) for free.
#   λ1 = 100, λ2 = 100: pix2pix's L1 weight (the paper builds on pix2pix); λ2 = λ1 so recovery is
#   weighted like enhancement.  λ3 = 1: P's own loss scale (YOLOv8 weights already balance its terms).
#   LSGAN objective (pix2pix/CycleGAN practice; the paper's log-loss form is gan_type='vanilla').
model = dict(
    type='ReCanon',
    enhancer=dict(type='UnetGenerator', num_downs=8, base_channels=64),      # G_X
    recoverer=dict(type='UnetGenerator', num_downs=8, base_channels=64),     # G_Y
    disc_enhanced=dict(type='PatchDiscriminator', in_channels=6),            # D_Y(y | x)
    disc_recovered=dict(type='PatchDiscriminator', in_channels=6),           # D_X(x | y')
    desensitizer=dict(type='Desensitizer', kind='blur', radius=8),           # A, paper r = 8
    gan_loss=dict(type='GANLoss', gan_type='lsgan', loss_weight=1.0),
    enhance_loss=dict(type='ThresholdL1Loss', threshold=0.05, loss_weight=100.0),  # λ1, T
    consistency_loss=dict(type='ConsistencyLoss', loss_weight=100.0),             # λ2
    pose_loss_weight=1.0,                                                         # λ3
    portrait_size=256,
    portrait_margin=1.25,
    method='ours',
    cycle_order='text',
    quantize=True)

# Paper: Adam for G/D, AdamW for P, initial LR 3.5e-5, exponential decay.
# betas (0.5, 0.999): the pix2pix setting for GAN training (paper silent).
# gamma = 0.95 per epoch over 100 epochs ends at 0.6 % of the initial LR (paper silent).
gan_adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=3.5e-5, betas=(0.5, 0.999)))
optim_wrapper = dict(
    constructor='PerNetworkOptimWrapperConstructor',
    enhancer=gan_adam,
    recoverer=gan_adam,
    disc_enhanced=gan_adam,
    disc_recovered=gan_adam,
    pose_estimator=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=3.5e-5, weight_decay=0.05)))
param_scheduler = [dict(type='ExponentialLR', gamma=0.95, by_epoch=True)]

train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2))
custom_hooks = [dict(type='ReCanonVisualizationHook', num_samples=4), dict(type='TorchRNGStateHook')]
# Multi-process training: broadcast initial weights, ReCanon averages gradients itself (see
# mmrecanon/engine/distributed.py for why MMDistributedDataParallel does not fit a 3-step train_step).
model_wrapper_cfg = dict(type='ReCanonDistributedWrapper')
