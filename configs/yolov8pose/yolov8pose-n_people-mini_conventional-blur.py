# The paper's "Conventional" baseline as a plain MMPose config: the "pre" P (the COCO-pretrained YOLOv8n-pose;
# AGPL-3.0 weights, see yolov8pose-n_people-mini_pre.py) fine-tuned on people-mini frames whose people are
# replaced by A(x) in the data pipeline, and tested on A(x) of the val people. A is applied at each person's own
# scale (PersonGaussianBlur(portrait_size=128): σ = 8·k frame pixels, k = 1.25 · longest box side / 128), which
# is the A of the native-resolution model (configs/cpu/recanon-native_blur_people-mini_tiles.py), so P here and
# P on that model's y' see the same conventional desensitizer.
_base_ = ['./yolov8pose-n_people-mini_pre.py']
desensitize = dict(type='PersonGaussianBlur', radius=8, margin=1.25, portrait_size=128)
train_pipeline = [_base_.train_pipeline[0], desensitize] + _base_.train_pipeline[1:]
val_pipeline = [_base_.val_pipeline[0], desensitize] + _base_.val_pipeline[1:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
