# Recovery ablation: the carrier design (configs/cpu/recanon-carrier_blur_people-mini_portraits.py) on the
# same 10-minute budget, constant LR (the ablation rows share one schedule).
_base_ = ['../recanon-carrier_blur_people-mini_portraits.py']
budget_minutes = 10
param_scheduler = []
train_cfg = dict(max_epochs=1000, val_interval=100000)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1000))
custom_hooks = [dict(type='TorchRNGStateHook'), dict(type='TrainTimeBudgetHook', minutes=budget_minutes)]
