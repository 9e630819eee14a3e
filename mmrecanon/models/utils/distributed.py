"""Gradient averaging for ``ReCanon.train_step`` (see ``engine/distributed.py`` for why it is needed)."""
from typing import Iterable

import torch
from mmengine.dist import all_reduce, get_world_size


def all_reduce_grads(params: Iterable[torch.nn.Parameter]) -> None:
    """Average ``.grad`` over all processes in one flat all-reduce (no-op when not distributed)."""
    if get_world_size() == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    all_reduce(flat, op='mean')
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()
