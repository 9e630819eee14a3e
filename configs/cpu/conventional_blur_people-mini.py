# CPU: the paper's "Conventional" row — P trained alone on A(x) (blur r = 8), no G/D.
_base_ = ['./recanon_blur_people-mini.py']
model = dict(method='conventional', enhancer=None, recoverer=None, disc_enhanced=None, disc_recovered=None)
optim_wrapper = dict(
    _delete_=True,
    constructor='PerNetworkOptimWrapperConstructor',
    pose_estimator=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)))
