"""Compatibility shims for today's torch, applied once on ``import mmrecanon``.

* torch >= 2.6 loads checkpoints with ``weights_only=True`` by default; MMEngine checkpoints pickle
  ``HistoryBuffer``, numpy arrays and config objects, so ``mmengine.runner.load_checkpoint`` and
  ``--resume`` fail.  We set ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` unless the user set it, which restores
  the pre-2.6 behaviour (load only checkpoints you trust, as with any pickle).
* torch >= 2.9 exports ONNX through the dynamo exporter by default; MMDeploy 1.3.1 relies on the
  TorchScript exporter (its symbolic rewriters), so ``torch.onnx.export`` defaults to ``dynamo=False``
  unless a caller passes ``dynamo`` explicitly.
* albumentations' update check (a network call on import) is switched off, and two deprecation notices
  the pinned OpenMMLab releases print on every run (pkg_resources, torch.cuda.amp.autocast) are hidden.
* MMEngine's PyTorch launcher calls ``torch.cuda.set_device`` unconditionally; on a machine without an
  accelerator the process group is initialised without it (gloo), so multi-process CPU training works.
* numpy >= 2.3 no longer converts 1-element arrays with ``int()``; MMPose 1.3.2's OpenCV visualizer passes
  the keypoint radius as a 1-element array to ``draw_circles`` and fails, so it is passed as a scalar.
"""
import contextlib
import functools
import os
import warnings

import numpy as np
import torch

WEIGHTS_ONLY_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


def _patch_checkpoint_loading() -> None:
    os.environ.setdefault(WEIGHTS_ONLY_ENV, '1')


def _quiet_offline() -> None:
    # albumentations (imported by mmpose) checks PyPI for updates on import: no network here.
    os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
    # Deprecation notices printed by the pinned OpenMMLab releases on every run (not actionable by users).
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
    warnings.filterwarnings('ignore', message=r'`torch\.cuda\.amp\.autocast\(args\.\.\.\)` is deprecated',
                            category=FutureWarning)


def _patch_onnx_export() -> None:
    export = torch.onnx.export
    if getattr(export, '_mmrecanon_patched', False):
        return

    @functools.wraps(export)
    def export_without_dynamo(*args, **kwargs):
        kwargs.setdefault('dynamo', False)
        return export(*args, **kwargs)

    export_without_dynamo._mmrecanon_patched = True
    torch.onnx.export = export_without_dynamo


def _patch_mmpose_visualizer() -> None:
    from mmpose.visualization.opencv_backend_visualizer import OpencvBackendVisualizer
    draw_circles = OpencvBackendVisualizer.draw_circles
    if getattr(draw_circles, '_mmrecanon_patched', False):
        return

    @functools.wraps(draw_circles)
    def draw_circles_scalar_radius(self, center, radius, *args, **kwargs):
        if self.backend == 'opencv' and np.size(radius) == 1:
            radius = float(np.asarray(radius).reshape(-1)[0])
        return draw_circles(self, center, radius, *args, **kwargs)

    draw_circles_scalar_radius._mmrecanon_patched = True
    OpencvBackendVisualizer.draw_circles = draw_circles_scalar_radius


def _patch_cpu_distributed() -> None:
    from mmengine.device import is_mlu_available, is_musa_available, is_npu_available
    from mmengine.dist import utils as dist_utils
    init = dist_utils._init_dist_pytorch
    if getattr(init, '_mmrecanon_patched', False):
        return

    @functools.wraps(init)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        accelerated = (torch.cuda.is_available() or is_npu_available() or is_mlu_available()
                       or is_musa_available())
        if accelerated or init_backend != 'torch':
            return init(backend, init_backend=init_backend, **kwargs)
        torch.distributed.init_process_group(backend=backend, **kwargs)  # CPU: no set_device

    init_dist_pytorch._mmrecanon_patched = True
    dist_utils._init_dist_pytorch = init_dist_pytorch


@contextlib.contextmanager
def library_notices_off():
    """Hide, around one call, the notices the pinned libraries print there; ``MMRECANON_DEBUG=1`` shows them.

    torch.load's "forcing weights_only=False" notice (the environment variable is ours, see above) and
    torch.meshgrid's indexing notice (MMPose's ``MlvlPointGenerator``, which P's head uses for its priors).
    """
    from .io.jobs import debug
    if debug():
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message=f'Environment variable {WEIGHTS_ONLY_ENV} detected')
        warnings.filterwarnings('ignore', message='torch.meshgrid: in an upcoming release')
        yield


def apply() -> None:
    """Apply all shims (idempotent)."""
    _patch_checkpoint_loading()
    _patch_onnx_export()
    _quiet_offline()
    _patch_mmpose_visualizer()
    _patch_cpu_distributed()
