"""Export G_X (the privacy enhancer) or P (the pose estimator) with MMDeploy.

    python tools/deploy.py DEPLOY_CFG MODEL_CFG CHECKPOINT [--part enhancer|pose]
                           --work-dir DIR [--img IMG] [--bbox X1 Y1 X2 Y2] [--device cpu] [--verify]

* ``--part enhancer`` (deploy configs ``configs/deploy/enhancer_*.py``): G_X alone, wrapped by
  :class:`mmrecanon.deploy.enhancer.EnhancerExportModule` (portraits in [-1, 1] -> y' on 8-bit
  levels), exported with ``mmdeploy.apis.onnx.export`` inside MMDeploy's rewriter context.
  MODEL_CFG is a ReCanon config; only ``enhancer.*`` weights of CHECKPOINT are used.
* ``--part pose`` (``configs/deploy/pose-detection_yolov8pose_*.py``): P through MMDeploy's
  ``torch2onnx`` (mmpose codebase, PoseDetection task, mmrecanon's YOLOv8-pose rewriter).
  MODEL_CFG is a standalone P config (configs/yolov8pose/*.py) or a ReCanon config with a
  YOLOv8-pose P (its ``pose_estimator.*`` weights are exported).
  ``--part`` defaults to what the deploy config's ``codebase_config`` says.

The backend step follows ``backend_config.type``: onnxruntime runs the ONNX file directly;
tensorrt builds an engine with MMDeploy's backend manager (needs TensorRT; without it the ONNX
file is kept and the tool exits with code 2).
``--verify`` runs ONNX Runtime on a real image (default: ../shared/data/mmpose-tiny/coco/
000000000785.jpg; for G_X its person portraits, boxes from ``--bbox`` or the COCO annotation file
next to the image) and prints the max abs difference to PyTorch.
Missing or incompatible inputs (also a file that is not a checkpoint, a ``--work-dir`` that is an
existing file): one-line ``error: ...`` on stderr, exit code 2.
"""
import argparse
import contextlib
import copy
import os
import os.path as osp
import sys
import warnings
from typing import Dict, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_IMG = osp.join(REPO_ROOT, '..', 'shared', 'data', 'mmpose-tiny', 'coco', '000000000785.jpg')
PARTS = ('enhancer', 'pose')


class DeployError(Exception):
    """A bad input (file, config, checkpoint, backend): reported as one line, exit code 2."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export G_X or P with MMDeploy (ONNX / TensorRT)')
    parser.add_argument('deploy_cfg', help='MMDeploy deploy config (configs/deploy/*.py)')
    parser.add_argument('model_cfg', help='model config (ReCanon config, or a P config for pose)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--part', choices=PARTS,
                        help='what to export (default: from the deploy config codebase_config)')
    parser.add_argument('--work-dir', required=True, help='output directory')
    parser.add_argument('--img', help='image for tracing / --verify (default: mmpose-tiny 785)')
    parser.add_argument('--bbox', type=float, nargs=4, metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help='person box for the G_X portrait (default: COCO annotations next '
                        'to the image, else the whole image)')
    parser.add_argument('--device', default='cpu', help='device to build the PyTorch model on')
    parser.add_argument('--verify', action='store_true',
                        help='compare ONNX Runtime with PyTorch on the real image')
    return parser.parse_args(argv)


def _load_cfg(path: str, what: str):
    from mmengine import Config
    if not osp.isfile(path):
        raise DeployError(f'{what} not found: {path}')
    try:
        return Config.fromfile(path)
    except Exception as e:  # syntax errors, missing _base_ files, bad custom_imports
        raise DeployError(f'cannot load {what} {path}: {type(e).__name__}: {e}'.splitlines()[0])


def _check_checkpoint(path: str) -> None:
    """A file that is not a PyTorch/MMEngine checkpoint is a one-line DeployError, not a traceback."""
    from mmengine.runner.checkpoint import _load_checkpoint
    try:
        with warnings.catch_warnings():  # torch.load's weights_only notice (mmrecanon.compat)
            warnings.simplefilter('ignore')
            ckpt = _load_checkpoint(path, map_location='cpu', logger='silent')
    except Exception as e:  # noqa: BLE001 - corrupt or foreign file (UnpicklingError, RuntimeError, ...)
        raise DeployError(f'cannot read checkpoint {path}: {type(e).__name__}: {e}'.splitlines()[0]) from None
    sd = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict):
        raise DeployError(f'{path} is not a model checkpoint (no state_dict in it)')


def _make_work_dir(work_dir: str) -> None:
    if osp.exists(work_dir) and not osp.isdir(work_dir):
        raise DeployError(f'--work-dir {work_dir} exists and is not a folder; choose another output directory')
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as e:
        raise DeployError(f'cannot create --work-dir {work_dir}: {e.strerror or e}') from None


def infer_part(deploy_cfg) -> str:
    codebase = deploy_cfg.get('codebase_config', {})
    kind = codebase.get('type')
    if kind == 'mmrecanon':
        return 'enhancer'
    if kind == 'mmpose':
        return 'pose'
    raise DeployError(f"deploy config codebase_config.type must be 'mmrecanon' (G_X) or "
                      f"'mmpose' (P), got {kind!r}")


@contextlib.contextmanager
def _quiet_tracing():
    """Silence the TracerWarnings of shape checks that are constant for a static graph."""
    import torch
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        yield


# ----------------------------------------------------------------------------- pose (P)
def standalone_pose_config(model_cfg, input_shape: Sequence[int]):
    """A plain MMPose config of P for MMDeploy's mmpose task processor.

    Standalone P configs are returned unchanged (prefix ''). For a ReCanon config, P's estimator
    config becomes ``model`` and a bottom-up test pipeline at the deploy input size is added
    (LoadImage, BottomupResize letter-box with YOLO's grey 114 padding, PackPoseInputs).
    Returns (config, checkpoint key prefix of P).
    """
    from mmengine import Config
    model = model_cfg.get('model', {})
    if model.get('type') != 'ReCanon':
        return model_cfg, ''
    pose = copy.deepcopy(model['pose_estimator'])
    head = pose.get('head', {}).get('type')
    if model.get('pose_mode', 'bottomup') != 'bottomup' or head != 'YOLOv8PoseHead':
        raise DeployError(f'--part pose exports a bottom-up YOLOv8-pose P; this config has '
                          f"pose_mode={model.get('pose_mode')!r} with head {head!r}")
    size = (int(input_shape[0]), int(input_shape[1]))
    meta_keys = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size',
                 'input_center', 'input_scale')
    pipeline = [
        dict(type='LoadImage'),
        dict(type='BottomupResize', input_size=size, pad_val=(114, 114, 114)),
        dict(type='PackPoseInputs', meta_keys=meta_keys),
    ]
    cfg = Config(dict(
        default_scope='mmpose',
        model=pose,
        codec=dict(type='YOLOXPoseAnnotationProcessor', input_size=size),
        test_dataloader=dict(dataset=dict(type='CocoDataset', pipeline=pipeline))))
    from mmrecanon.io.checkpoint import POSE
    return cfg, POSE


def _pose_checkpoint(checkpoint: str, prefix: str, work_dir: str) -> str:
    """P's weights of a ReCanon checkpoint saved as a standalone checkpoint (keys unprefixed)."""
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmrecanon.io.checkpoint import part
    if not prefix:
        return checkpoint
    ckpt = _load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    pose = part(state, prefix)
    if not pose:
        raise DeployError(f'{checkpoint} has no P weights (no "{prefix}*" keys)')
    out = osp.join(work_dir, 'pose_estimator.pth')
    torch.save(dict(state_dict=pose, meta=dict(source=osp.abspath(checkpoint))), out)
    return out


def export_pose(deploy_cfg, model_cfg, checkpoint: str, work_dir: str, img: str,
                device: str = 'cpu', verify: bool = False) -> Dict:
    """P -> ONNX with ``mmdeploy.apis.torch2onnx``; with ``verify`` also ORT vs PyTorch."""
    import mmengine
    import torch
    from mmdeploy.apis import build_task_processor, torch2onnx
    from mmdeploy.utils import get_input_shape

    import mmrecanon.deploy  # noqa: F401  (the YOLOv8-pose head rewriter)
    import mmrecanon.models.yolo  # noqa: F401
    input_shape = get_input_shape(deploy_cfg)
    if input_shape is None:
        raise DeployError('the pose deploy config needs onnx_config.input_shape (static export)')
    pose_cfg, prefix = standalone_pose_config(model_cfg, input_shape)
    mmengine.mkdir_or_exist(work_dir)
    ckpt = _pose_checkpoint(checkpoint, prefix, work_dir)
    save_file = deploy_cfg.onnx_config.get('save_file', 'end2end.onnx')
    with _quiet_tracing():
        torch2onnx(img, work_dir, save_file, deploy_cfg, pose_cfg, ckpt, device)
    onnx_file = osp.join(work_dir, save_file)
    result = dict(onnx=onnx_file)
    if verify:
        task = build_task_processor(pose_cfg, deploy_cfg, device)
        model = task.build_pytorch_model(ckpt)
        _, inputs = task.create_input(img, input_shape, data_preprocessor=model.data_preprocessor)
        inputs = inputs[0] if isinstance(inputs, list) else inputs
        if not hasattr(getattr(model, 'head', None), 'predict_raw'):
            raise DeployError(f'--verify compares YOLOv8PoseHead.predict_raw; head '
                              f'{type(model.head).__name__} has none')
        with torch.no_grad():
            ref = model.head.predict_raw(model.extract_feat(inputs))
        from mmrecanon.deploy.enhancer import ort_session
        sess = ort_session(onnx_file)
        out = sess.run(None, {sess.get_inputs()[0].name: inputs.cpu().numpy()})
        diffs = {name: float(abs(o - r.cpu().numpy()).max())
                 for name, o, r in zip(deploy_cfg.onnx_config['output_names'], out, ref)}
        result.update(max_abs_diff=max(diffs.values()), diffs=diffs)
    return result


# ----------------------------------------------------------------------------- main entry
def to_backend(deploy_cfg, onnx_file: str, work_dir: str, device: str) -> Sequence[str]:
    """Backend files for ``backend_config.type`` (ONNX Runtime: the ONNX file itself)."""
    backend = deploy_cfg.backend_config.get('type')
    if backend == 'onnxruntime':
        return [onnx_file]
    if backend == 'tensorrt':
        from mmdeploy.backend.tensorrt import is_available
        if not is_available():
            raise DeployError(f'TensorRT is not installed: wrote {onnx_file}; build the engine on '
                              f'a GPU machine with TensorRT (same command)')
        from mmdeploy.apis.utils import to_backend as mmdeploy_to_backend
        return mmdeploy_to_backend('tensorrt', [onnx_file], work_dir, deploy_cfg, device=device)
    raise DeployError(f'unsupported backend_config.type {backend!r} (onnxruntime, tensorrt)')


def deploy(deploy_cfg, model_cfg, checkpoint: Optional[str], work_dir: str, part: Optional[str] = None,
           img: Optional[str] = None, bbox: Optional[Sequence[float]] = None, device: str = 'cpu',
           verify: bool = False, quantize: Optional[bool] = None) -> Dict:
    """Export one part; the function behind the CLI (usable in-process).

    ``deploy_cfg`` / ``model_cfg``: paths or mmengine Configs. ``checkpoint`` None (G_X only) keeps
    random weights. ``quantize`` overrides the enhancer deploy config's ``quantize``.
    Returns dict(part, onnx, backend_files, and with ``verify``: max_abs_diff, ...).
    Raises :class:`DeployError` for bad inputs.
    """
    import mmengine

    import mmrecanon  # noqa: F401  (registers everything, torch.onnx.export without dynamo)
    if not isinstance(deploy_cfg, mmengine.Config):
        deploy_cfg = _load_cfg(deploy_cfg, 'deploy config')
    if not isinstance(model_cfg, mmengine.Config):
        model_cfg = _load_cfg(model_cfg, 'model config')
    for key in ('onnx_config', 'codebase_config', 'backend_config'):
        if key not in deploy_cfg:
            raise DeployError(f'deploy config has no `{key}` (MMDeploy deploy-config layout)')
    wanted = infer_part(deploy_cfg)
    part = part or wanted
    if part != wanted:
        raise DeployError(f'--part {part} does not fit this deploy config (it is for {wanted})')
    backend = deploy_cfg.backend_config.get('type')
    if backend == 'tensorrt' and not str(device).startswith('cuda'):
        raise DeployError(f'the TensorRT backend needs a GPU: pass --device cuda:N (got {device!r})')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise DeployError(f'checkpoint not found: {checkpoint}')
    if img is None and (verify or part == 'pose'):
        img = DEFAULT_IMG
    if img is not None and not osp.isfile(img):
        raise DeployError(f'image not found: {img}')
    if checkpoint is not None:
        _check_checkpoint(checkpoint)
    _make_work_dir(work_dir)

    try:
        if part == 'enhancer':
            from mmrecanon.deploy.enhancer import export_enhancer, verify_enhancer
            with _quiet_tracing():
                res = export_enhancer(deploy_cfg, model_cfg, checkpoint, work_dir, img=img,
                                      bboxes=[bbox] if bbox is not None else None, device=device,
                                      quantize=quantize)
            out = dict(part=part, onnx=res['onnx'], quantize=res['module'].quantize)
            if verify:
                from mmrecanon.deploy.enhancer import load_portraits
                s = res['settings']
                portraits, _ = load_portraits(img, s['portrait_size'],
                                              [bbox] if bbox is not None else None,
                                              s['portrait_margin'])
                v = verify_enhancer(res['onnx'], res['module'], portraits)
                out.update({k: v[k] for k in ('max_abs_diff', 'mean_abs_diff', 'level_mismatch',
                                              'n')})
        else:
            if checkpoint is None:
                raise DeployError('--part pose needs a checkpoint')
            out = dict(part=part, **export_pose(deploy_cfg, model_cfg, checkpoint, work_dir, img,
                                                device, verify))
    except DeployError:
        raise
    except (FileNotFoundError, ValueError, TypeError, KeyError) as e:
        raise DeployError(str(e).splitlines()[0] if str(e) else type(e).__name__)
    out['backend_files'] = list(to_backend(deploy_cfg, out['onnx'], work_dir, device))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        out = deploy(args.deploy_cfg, args.model_cfg, args.checkpoint, args.work_dir, args.part,
                     args.img, args.bbox, args.device, args.verify)
    except DeployError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(f'{out["part"]}: wrote {out["onnx"]}; backend files: {", ".join(out["backend_files"])}')
    if args.verify:
        line = f'verify ({out["part"]}, ONNX Runtime vs PyTorch): max abs diff {out["max_abs_diff"]:.3g}'
        if out['part'] == 'enhancer':
            line += (f' over {out["n"]} portrait(s), 8-bit level mismatch '
                     f'{100 * out["level_mismatch"]:.4f}% (quantize={out["quantize"]})')
        else:
            line += ' (' + ', '.join(f'{k} {v:.3g}' for k, v in out['diffs'].items()) + ')'
        print(line)
    return 0


if __name__ == '__main__':
    sys.path.insert(0, REPO_ROOT)
    sys.exit(main())
