"""The parts of a ReCanon checkpoint, by state-dict prefix: written once, used by every loader and splitter.

* inference (``apis.inference.init_recanon``) and ``tools/test.py`` ignore :data:`TRAINING_ONLY`;
* ``mmrecanon export-camera`` drops :data:`CAMERA_DROP` (a camera must not be able to recover anybody);
* the demo asset (``tools/make_demo_checkpoint.py``) keeps :data:`DEMO_KEEP` (P's fine-tuned YOLOv8 weights
  are AGPL-3.0 and stay out of it unless asked for);
* MMDeploy exports (``deploy/enhancer.py``, ``tools/deploy.py``) take one part: :data:`ENHANCER` or :data:`POSE`.

Light to import (torch only inside :func:`export_camera`).
"""
import os.path
from typing import Dict, Tuple

ENHANCER = 'enhancer.'                   # G_X
RECOVERER = 'recoverer.'                 # G_Y
POSE_BAND = 'pose_band.'                 # B of the pose band (camera side, like G_X; models/pose_band.py)
POSE = 'pose_estimator.'                 # P
DISCRIMINATORS = ('disc_enhanced.', 'disc_recovered.')  # D_Y, D_X
ZEROSHOT = 'zeroshot_pose_estimator.'    # the frozen P of Tab. 1's zero-shot row (from its own file)
TRAINING_ONLY: Tuple[str, ...] = DISCRIMINATORS + (ZEROSHOT, )
CAMERA_DROP: Tuple[str, ...] = (RECOVERER, ) + DISCRIMINATORS
DEMO_KEEP: Tuple[str, ...] = (ENHANCER, POSE_BAND, RECOVERER, 'desensitizer.')
MODULE = 'module.'                       # what a DDP-wrapped model adds in front of every key


def state_dict_of(checkpoint) -> Dict:
    """The state dict of a loaded checkpoint (``state_dict`` or the dict itself), without ``module.``;
    ValueError when there is none."""
    sd = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(sd, dict) or not sd or not all(hasattr(v, 'shape') for v in sd.values()):
        raise ValueError('no state_dict of tensors in it')
    return {(k[len(MODULE):] if k.startswith(MODULE) else k): v for k, v in sd.items()}


def has_part(state_dict: Dict, prefix: str) -> bool:
    return any(k.startswith(prefix) for k in state_dict)


def part(state_dict: Dict, prefix: str) -> Dict:
    """The weights under ``prefix``, with the prefix removed (a network's own state dict)."""
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def check_export_paths(src: str, dst: str, force: bool = False) -> None:
    """The checks of ``mmrecanon export-camera SRC DST`` before anything is read: FileNotFoundError or a
    one-line UsageError (never the full checkpoint overwritten, nor an existing camera file without ``force``)."""
    from .jobs import UsageError
    if not os.path.isfile(src):
        raise FileNotFoundError(f'checkpoint file not found: {src}')
    if os.path.realpath(dst) == os.path.realpath(src):
        raise UsageError('the camera checkpoint must not overwrite the full checkpoint; choose another OUT path')
    if os.path.isdir(dst):
        raise UsageError(f'{dst} is a folder; give the file name of the camera checkpoint')
    if os.path.lexists(dst) and not force:
        raise UsageError(f'{dst} exists and is not replaced (it may be the only copy of a G_Y); choose another '
                         'OUT or pass --force')


def export_camera(src: str, dst: str) -> Tuple[int, int, bool]:
    """Write the camera's checkpoint: ``src`` without :data:`CAMERA_DROP` (G_Y, D's) and the optimizer state,
    atomically. Returns (tensors kept, tensors dropped, whether an optimizer state was dropped). Needs
    torch and the loading shims (``mmrecanon.load()``); ValueError for a file that is not a ReCanon checkpoint.
    """
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint

    from ..compat import library_notices_off
    from .sidecar import write_bytes
    try:
        with library_notices_off():
            ckpt = _load_checkpoint(src, map_location='cpu', logger='silent')
    except Exception as e:  # noqa: BLE001 - corrupt / foreign file
        raise ValueError(f'cannot read checkpoint {src}: {" ".join(str(e).split()) or type(e).__name__}') from None
    try:
        sd = state_dict_of(ckpt)
    except ValueError:
        sd = {}
    if not (has_part(sd, ENHANCER) or has_part(sd, POSE)):
        raise ValueError(f'{src} is not a ReCanon checkpoint (no enhancer.* / pose_estimator.* weights)')
    keep = {k: v for k, v in sd.items() if not k.startswith(CAMERA_DROP)}
    meta = dict(ckpt.get('meta') or {}) if isinstance(ckpt.get('meta', None), dict) else {}
    meta.update(mmrecanon_camera_export=True, source_checkpoint=os.path.basename(src))
    write_bytes(dst, lambda tmp: torch.save({'state_dict': keep, 'meta': meta}, tmp))  # temporary file + rename
    return len(keep), len(sd) - len(keep), 'optimizer' in ckpt


__all__ = ['ENHANCER', 'RECOVERER', 'POSE_BAND', 'POSE', 'DISCRIMINATORS', 'ZEROSHOT', 'TRAINING_ONLY',
           'CAMERA_DROP', 'DEMO_KEEP', 'state_dict_of', 'has_part', 'part', 'export_camera']
