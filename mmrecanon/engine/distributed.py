"""Data-parallel training of the multi-optimizer joint model.

``MMDistributedDataParallel`` only syncs gradients of ``forward`` calls made through it, while ReCanon
runs its own ``train_step`` with three backward passes (D_Y, D_X, then G_X+G_Y+P) and calls P's ``loss``
directly.  So the wrapper below only broadcasts the initial weights, and ``ReCanon`` averages the
gradients of each optimizer's parameters across processes before every step (``all_reduce_grads``).
BN running statistics are averaged each epoch by MMPose's default ``SyncBuffersHook``.
"""
from typing import Iterable

import torch
import torch.distributed as dist
from mmengine.registry import MODEL_WRAPPERS  # the Runner looks wrappers up in the root registry


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def all_reduce_grads(params: Iterable[torch.nn.Parameter]) -> None:
    """Average ``.grad`` over all processes (no-op when not distributed)."""
    n = world_size()
    if n == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= n
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


@MODEL_WRAPPERS.register_module()
class ReCanonDistributedWrapper(torch.nn.Module):
    """Model wrapper for multi-process training: same initial weights everywhere, steps delegated.

    Use with ``model_wrapper_cfg = dict(type='ReCanonDistributedWrapper')`` (set in the recanon runtime).
    """

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        super().__init__()
        self.module = module
        if world_size() > 1:
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t.data, src=0)

    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)
