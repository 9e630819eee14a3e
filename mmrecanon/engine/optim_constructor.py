"""One optimizer wrapper per network (G_X, G_Y, D_Y, D_X, P), as mmagic's GAN models use."""
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmpose.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PerNetworkOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` whose keys are sub-module names of the model.

    ``optim_wrapper = dict(constructor='PerNetworkOptimWrapperConstructor',
    enhancer=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=...)), pose_estimator=...)``.
    Each value is an ordinary optimizer-wrapper config (``paramwise_cfg`` allowed) built by MMEngine's
    ``DefaultOptimWrapperConstructor`` for that sub-module only.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None) -> None:
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise ValueError('PerNetworkOptimWrapperConstructor needs one optimizer-wrapper config per network')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model) -> OptimWrapperDict:
        model = getattr(model, 'module', model)  # unwrap DDP
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            if not isinstance(cfg, dict):
                raise ValueError(f'optim_wrapper.{name} must be a dict, got {type(cfg).__name__}')
            module = getattr(model, name, None)
            if module is None:
                raise ValueError(f"optim_wrapper has '{name}' but the model has no such network")
            cfg = dict(cfg)
            paramwise = cfg.pop('paramwise_cfg', None)
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise)(module)
        return OptimWrapperDict(**wrappers)
