# CPU, phase 1 of "Ours" with the carrier design (results/recovery.md): G_X and G_Y on people-mini portraits
# (128 px, blur r = 8), no P and no discriminators. Cheap iterations are what buys recovery on 2 cores.
#
# What differs from the paper's G_X/G_Y (configs/cpu/recanon_blur_people-mini.py keeps the paper's design):
# * carrier: y' = A(x) + π(D(b·G_X(x))) (mmrecanon/models/utils/carrier.py): the low band of y' is A(x)'s
#   exactly and G_X's bounded carrier (b = 0.1 = 2T) lives in the Haar detail bands under a public
#   scramble, so y' shows the eye no more than A(x) (the visible-leak figure) however G_X encodes x.
# * recover_residual: x' = u + G_Y(u): G_Y adds back what A(x) took away instead of redrawing the person.
# * no GAN terms in this phase (disc_* None): D_Y would learn to reject the scrambled carrier as noise and
#   fight recovery; pix2pix's L1-only variant. λ1 = λ2 = 100, T = 0.05 as in the runtime base.
# * λ3 = 0: P is not run at all (phase 2, the joint fine-tuning with the pretrained P, starts from here).
_base_ = ['./recanon_blur_people-mini_yolo.py']
model = dict(
    carrier=dict(type='HaarCarrier', bound=0.1, keyed=False),
    recover_residual=True,
    disc_enhanced=None, disc_recovered=None,
    pose_loss_weight=0.0)
# Adam 5e-4 (2.5 × pix2pix's 2e-4: no GAN to destabilise, short runs), cosine to 1 % over the run.
# 110 epochs × 38 iterations (batch 8 frames ≈ 23 portraits; 1.1 s per iteration on one core of this
# CPU) fit in the 100-minute budget; the budget hook stops the run there in any case.
max_epochs = 110
budget_minutes = 100
optim_wrapper = dict(
    _delete_=True,
    constructor='PerNetworkOptimWrapperConstructor',
    enhancer=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-4, betas=(0.9, 0.999))),
    recoverer=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-4, betas=(0.9, 0.999))))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs,
                        eta_min=5e-6, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs, val_interval=1000)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=5, max_keep_ckpts=3))
custom_hooks = [dict(type='ReCanonVisualizationHook', num_samples=4), dict(type='TorchRNGStateHook'),
                dict(type='TrainTimeBudgetHook', minutes=budget_minutes)]
