# CPU: the paper's "Conventional" row — P trained alone on A(x) (blur r = 8), no G/D; P starts from the
# same originals-trained YOLOv8-n as "Ours" (configs/cpu/recanon_blur_people-mini_p-init.py).
_base_ = ['./recanon_blur_people-mini_p-init.py']
model = dict(method='conventional', enhancer=None, recoverer=None, disc_enhanced=None, disc_recovered=None)
optim_wrapper = dict(
    _delete_=True,
    constructor='PerNetworkOptimWrapperConstructor',
    pose_estimator=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05)))
