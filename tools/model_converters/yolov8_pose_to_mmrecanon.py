"""Convert Ultralytics YOLOv8-pose weights into an MMEngine checkpoint of the project's YOLOv8-style P.

    python tools/model_converters/yolov8_pose_to_mmrecanon.py \
        ../shared/weights/yolov8n-pose-coco/yolov8n-pose_fused_float.npz \
        work_dirs/pretrained/yolov8n-pose_coco_fused.pth

SRC is a fused float state dict (``.npz``, Ultralytics key names, as in ``../shared/weights``) or an
Ultralytics checkpoint (``.pt``: ``yolov8n-pose.pt`` from Ultralytics, unpickled with the ``ultralytics``
package, or a plain ``torch.save``-d state dict). ``--config`` is the P to fill (a standalone P config or
a ReCanon config; default: the BN-free YOLOv8-n of ``configs/_base_/pose/yolov8pose_n_coco_fused.py``).
The key mapping and the batch-norm rules are in ``mmrecanon/models/yolo/convert.py``.

Licence: the converter is Apache-2.0 like the project; the weights it writes are Ultralytics' and stay
AGPL-3.0, as does anything fine-tuned from them (``meta.licence`` in the output says so). Do not commit them.

Errors (not YOLOv8-pose, wrong model size, wrong keypoint count, unreadable file, existing output
without ``--force``) are one line ``error: ...``, exit code 2, nothing written.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(ROOT, 'configs', '_base_', 'pose', 'yolov8pose_n_coco_fused.py')


def read_source(path: str) -> dict:
    """SRC → {Ultralytics key: tensor}."""
    import numpy as np
    import torch
    if not osp.isfile(path):
        raise FileNotFoundError(f'source weights not found: {path}')
    if path.endswith('.npz'):
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: torch.from_numpy(np.array(data[k])) for k in data.files}
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f'{path}: not a readable .npz file ({e})') from None
    try:
        obj = torch.load(path, map_location='cpu', weights_only=False)
    except ModuleNotFoundError as e:
        if 'ultralytics' in str(e):
            raise ValueError(f'{path} is an Ultralytics checkpoint: unpickling it needs the ultralytics '
                             'package (pip install ultralytics), or pass its fused weights as .npz') from None
        raise ValueError(f'{path}: cannot unpickle ({e})') from None
    except Exception as e:  # noqa: BLE001  (torch raises many types for a file that is no checkpoint)
        raise ValueError(f'{path}: not a readable checkpoint ({type(e).__name__})') from None
    if isinstance(obj, dict):
        for key in ('ema', 'model', 'state_dict'):
            if obj.get(key) is not None:
                obj = obj[key]
                break
    if hasattr(obj, 'state_dict'):
        obj = obj.float().state_dict() if hasattr(obj, 'float') else obj.state_dict()
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        raise ValueError(f'{path}: no state dict of tensors found')
    return dict(obj)


def pose_config(config: str):
    """The P part of a config (standalone P, ReCanon, or a ``_base_/pose`` file's ``pose_estimator``)."""
    from mmrecanon.runtime import load_config
    cfg = load_config(config)
    model = cfg.get('model', None) or cfg.get('pose_estimator', None) or {}  # a leaf config, or a pose base
    p_cfg = model.get('pose_estimator', model) if model.get('type') != 'BottomupPoseEstimator' else model
    if p_cfg.get('head', {}).get('type') != 'YOLOv8PoseHead':
        raise ValueError(f'{config}: P is not a YOLOv8-style pose model (head type '
                         f'{p_cfg.get("head", {}).get("type")!r})')
    return p_cfg


def convert(src: str, out: str, config: str = DEFAULT_CONFIG, force: bool = False) -> dict:
    """Convert ``src`` into ``out`` (an MMEngine checkpoint: ``state_dict`` + ``meta``); returns meta."""
    import torch

    import mmrecanon  # noqa: F401  (compat shims)
    import mmrecanon.models  # noqa: F401  (registers the YOLO modules)
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    from mmrecanon.io.sidecar import sha256_file, write_bytes
    from mmrecanon.models.yolo.convert import LICENCE, check_dfl, convert_state_dict

    if osp.exists(out) and not force:
        raise FileExistsError(f'output exists: {out} (use --force to replace it)')
    if osp.isdir(out):
        raise IsADirectoryError(f'output is a folder: {out}')
    p_cfg = pose_config(config)
    head = p_cfg['head']
    source = read_source(src)
    check_dfl(source, head.get('reg_max', 16))
    init_default_scope('mmpose')
    model = MODELS.build(p_cfg)
    state = convert_state_dict(source, model, num_keypoints=head['num_keypoints'])
    model.load_state_dict(state, strict=True)  # the target's own check, after ours
    meta = dict(
        source=osp.abspath(src), source_sha256=sha256_file(src).split(':', 1)[1], licence=LICENCE,
        converter='tools/model_converters/yolov8_pose_to_mmrecanon.py', config=osp.relpath(config, ROOT),
        num_keypoints=head['num_keypoints'],
        batch_norm='none (fused weights)' if p_cfg['backbone'].get('norm_cfg', 'BN') is None else 'BN')
    write_bytes(osp.abspath(out), lambda tmp: torch.save(dict(state_dict=state, meta=meta), tmp))
    return meta


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='Ultralytics YOLOv8-pose weights: fused .npz or .pt checkpoint')
    parser.add_argument('out', help='output MMEngine checkpoint (.pth)')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='P config to fill (standalone P or ReCanon; default: BN-free YOLOv8-n COCO)')
    parser.add_argument('--force', action='store_true', help='replace an existing output')
    args = parser.parse_args(argv)
    try:
        meta = convert(args.src, args.out, args.config, args.force)
    except (ValueError, OSError, KeyError) as e:
        msg = e.args[0] if e.args else str(e)
        print(f'error: {msg}', file=sys.stderr)
        return 2
    print(f'wrote {args.out} (from {osp.basename(args.src)}, sha256 {meta["source_sha256"][:12]}…; '
          f'licence {meta["licence"]})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
