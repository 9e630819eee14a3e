# CPU: the paper's "Conventional" baseline with the pretrained YOLOv8-n P (BN-free layout of the converted
# Ultralytics weights): ReCanon(method='conventional') has no G/D; P sees frames whose people are replaced
# by A(x) (blur r = 8 at the 128-px portrait scale; tools/analysis/pose_pretrained.py also sets pixelation).
# Tested as it is, it is the zero-shot evaluation of P on A(x) (tools/analysis/pose_pretrained.py).
_base_ = ['./recanon_blur_people-mini_yolo.py']
model = dict(method='conventional', enhancer=None, recoverer=None, disc_enhanced=None, disc_recovered=None,
             pose_estimator=dict(init_cfg={{_base_.pretrained_pose_init}}))
optim_wrapper = dict(
    _delete_=True,
    constructor='PerNetworkOptimWrapperConstructor',
    pose_estimator=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05)))
custom_hooks = [dict(type='TorchRNGStateHook')]
