# Recovery ablation (results/recovery.md), "today's design": the paper's G_X/G_Y/D_Y/D_X as in
# configs/cpu/recanon_blur_people-mini.py (y' = G_X(x), x' = G_Y(y'), LSGAN, Adam 2e-4 β1 0.5), in the same
# portrait-only phase (λ3 = 0: no P) and time budget as the other rows, so only the design differs.
_base_ = ['../recanon_blur_people-mini_yolo.py']
model = dict(pose_loss_weight=0.0)
budget_minutes = 10
gan_adam = {{_base_.gan_adam}}
optim_wrapper = dict(_delete_=True, constructor='PerNetworkOptimWrapperConstructor', enhancer=gan_adam,
                     recoverer=gan_adam, disc_enhanced=gan_adam, disc_recovered=gan_adam)
param_scheduler = []
train_cfg = dict(max_epochs=1000, val_interval=100000)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1000))
custom_hooks = [dict(type='TorchRNGStateHook'), dict(type='TrainTimeBudgetHook', minutes=budget_minutes)]
