# CPU, "Conventional" of Tab. 1/2 (issue #13) next to recanon-ours_blur_people-mini_yolo.py: "pre" (the
# COCO-pretrained YOLOv8-n, converted Ultralytics weights, AGPL-3.0) fine-tuned on people-mini frames whose
# people are replaced by A(x) (blur r = 8 at the 128-px portrait scale, 256-px frames): the same frames,
# portraits, P optimizer, schedule and number of epochs as "Ours", only no G_X/G_Y.
_base_ = ['./conventional_people-mini_yolo.py']
max_epochs = 10
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs,
                        eta_min=2e-6, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs, val_interval=1000)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=5, max_keep_ckpts=1))
