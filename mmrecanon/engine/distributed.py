"""Data-parallel training of the multi-optimizer joint model.

``MMDistributedDataParallel`` only syncs gradients of ``forward`` calls made through it, while ReCanon
runs its own ``train_step`` with three backward passes (D_Y, D_X, then G_X+G_Y+P) and calls P's ``loss``
directly.  So the wrapper below only broadcasts the initial weights, and ``ReCanon`` averages the
gradients of each optimizer's parameters across processes before every step (``all_reduce_grads``).
BN running statistics are averaged each epoch by MMPose's default ``SyncBuffersHook``.
"""
import torch
import torch.distributed as dist
from mmengine.dist import get_world_size
from mmengine.registry import MODEL_WRAPPERS  # the Runner looks wrappers up in the root registry

from ..models.utils.distributed import all_reduce_grads  # noqa: F401  (the models' half; re-exported)


@MODEL_WRAPPERS.register_module()
class ReCanonDistributedWrapper(torch.nn.Module):
    """Model wrapper for multi-process training: same initial weights everywhere, steps delegated.

    Use with ``model_wrapper_cfg = dict(type='ReCanonDistributedWrapper')`` (set in the recanon runtime).
    """

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        super().__init__()
        self.module = module
        if get_world_size() > 1:
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t.data, src=0)

    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)
