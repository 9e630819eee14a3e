"""Deployment of the privacy enhancer G_X alone (ONNX through MMDeploy's export machinery).

On a camera only G_X runs: portraits x are cut out of the frame, y' = G_X(x) is computed and
pasted back. The exported graph is :class:`EnhancerExportModule`: portraits in [-1, 1] (NCHW,
BGR, S x S with S = the model's ``portrait_size``) -> y' in [-1, 1], rounded to 8-bit levels
(``quantize=True``, as :meth:`ReCanon.enhance` with ``quantize=True``: y' leaves the camera as an
8-bit image) or the raw tanh output (``quantize=False``). Cropping, pasting and the
[0, 255] <-> [-1, 1] conversion stay outside the graph (see :func:`load_portraits`).

Deploy configs follow MMDeploy's layout (``onnx_config``, ``codebase_config``,
``backend_config``); ``codebase_config = dict(type='mmrecanon', task='PortraitEnhancement',
quantize=...)`` is read here, not by an MMDeploy task processor (MMDeploy has no codebase for a
bare image-to-image generator).
"""
import logging
import os.path as osp
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import mmengine
import numpy as np
import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
from torch import Tensor, nn
from mmpose.registry import MODELS

from ..io.checkpoint import ENHANCER, POSE, RECOVERER, has_part, part
from ..models.recanon import ReCanon, quantize_levels, to_unit
from ..models.utils.portrait import crop_portraits, square_boxes

ENHANCER_CODEBASE = 'mmrecanon'
ENHANCER_TASK = 'PortraitEnhancement'
GENERATOR_TYPES = ('UnetGenerator', 'ResnetGenerator')


@MODELS.register_module()
class EnhancerExportModule(nn.Module):
    """The exported graph: y' = G_X(x), optionally rounded to 8-bit levels.

    Args:
        enhancer: G_X (``UnetGenerator`` / ``ResnetGenerator`` or any [-1, 1] -> [-1, 1] module).
        quantize: round y' to 8-bit levels inside the graph (ONNX ``Round``; ties to even, like
            ``torch.round``).
    """

    def __init__(self, enhancer: nn.Module, quantize: bool = True):
        super().__init__()
        if not isinstance(enhancer, nn.Module):
            raise TypeError(f'enhancer must be an nn.Module, got {type(enhancer).__name__}')
        self.enhancer = enhancer
        self.quantize = bool(quantize)

    def forward(self, portraits: Tensor) -> Tensor:
        y = self.enhancer(portraits)
        return quantize_levels(y) if self.quantize else y


# ----------------------------------------------------------------------------- configs
def _as_config(cfg: Union[str, mmengine.Config, dict], what: str) -> mmengine.Config:
    if isinstance(cfg, mmengine.Config):
        return cfg
    if isinstance(cfg, dict):
        return mmengine.Config(cfg)
    if isinstance(cfg, (str, Path)):
        if not osp.isfile(cfg):
            raise FileNotFoundError(f'{what} not found: {cfg}')
        return mmengine.Config.fromfile(str(cfg))
    raise TypeError(f'{what} must be a path or an mmengine Config, got {type(cfg).__name__}')


def enhancer_settings(model_cfg: Union[str, mmengine.Config]) -> Dict:
    """G_X's config and portrait geometry from a ReCanon model config (or a bare generator one).

    Returns dict(enhancer=<generator cfg>, portrait_size, portrait_margin, quantize, prefix) where
    ``prefix`` is the state-dict prefix of G_X in the config's checkpoints ('enhancer.' for ReCanon).
    """
    cfg = _as_config(model_cfg, 'model config')
    model = cfg.get('model', None)
    if not isinstance(model, dict) or 'type' not in model:
        raise ValueError('model config has no `model` dict with a `type`')
    if model['type'] in GENERATOR_TYPES:  # a bare G_X config
        return dict(enhancer=dict(model), portrait_size=int(cfg.get('portrait_size', 256)),
                    portrait_margin=float(cfg.get('portrait_margin', 1.25)), quantize=True,
                    prefix='')
    if model['type'] != 'ReCanon':
        raise ValueError(f"model config must define a ReCanon model or a generator "
                         f"({', '.join(GENERATOR_TYPES)}), got type {model['type']!r}")
    if not ReCanon.config_has_generators(model) or model.get('enhancer') is None:
        raise ValueError('this ReCanon config has no enhancer G_X (method=conventional)')
    if model.get('carrier') or model.get('key_lock'):
        # the exported graph is G_X alone; a carrier model's y' also needs A(x) and the Haar lock
        raise ValueError('this ReCanon config has a carrier/key lock: its y\' is A(x) + the locked carrier, '
                         'which the G_X-only export does not compute; run it with the inference API '
                         '(mmrecanon anonymize / export-camera) instead')
    return dict(enhancer=dict(model['enhancer']), portrait_size=int(model.get('portrait_size', 256)),
                portrait_margin=float(model.get('portrait_margin', 1.25)),
                quantize=bool(model.get('quantize', True)), prefix=ENHANCER)


def enhancer_deploy_settings(deploy_cfg: Union[str, mmengine.Config]) -> Dict:
    """Validated fields of an enhancer deploy config (see configs/deploy/enhancer_*.py)."""
    cfg = _as_config(deploy_cfg, 'deploy config')
    for key in ('onnx_config', 'codebase_config', 'backend_config'):
        if key not in cfg:
            raise ValueError(f'deploy config has no `{key}` (MMDeploy deploy-config layout)')
    codebase = cfg.codebase_config
    if codebase.get('type') != ENHANCER_CODEBASE or codebase.get('task') != ENHANCER_TASK:
        raise ValueError(f"not an enhancer deploy config: codebase_config must be type="
                         f"'{ENHANCER_CODEBASE}', task='{ENHANCER_TASK}', got "
                         f"{codebase.get('type')!r}, {codebase.get('task')!r}")
    onnx = cfg.onnx_config
    shape = onnx.get('input_shape', None)
    if shape is None or len(shape) != 2:
        raise ValueError(f'onnx_config.input_shape must be [w, h], got {shape!r}')
    if len(onnx.get('input_names', [])) != 1 or len(onnx.get('output_names', [])) != 1:
        raise ValueError('onnx_config needs exactly one input name and one output name')
    return dict(cfg=cfg, input_shape=(int(shape[0]), int(shape[1])),
                quantize=codebase.get('quantize', None), backend=cfg.backend_config.get('type'))


# ----------------------------------------------------------------------------- model
def build_enhancer(model_cfg: Union[str, mmengine.Config],
                   checkpoint: Optional[str] = None,
                   device: str = 'cpu') -> Tuple[nn.Module, Dict]:
    """Build G_X from a model config and load its weights from a checkpoint (eval mode).

    Only G_X is built (not P, G_Y or the discriminators). ``checkpoint`` may be a full ReCanon
    checkpoint (keys ``enhancer.*`` are taken) or a bare generator state dict; None keeps the
    random initialisation (benchmarks).
    Returns (G_X, settings) with settings from :func:`enhancer_settings`.
    """

    import mmrecanon  # noqa: F401  (registers the generators)
    settings = enhancer_settings(model_cfg)
    enhancer = MODELS.build(settings['enhancer'])
    if checkpoint is None:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)  # init_weights dumps every parameter at INFO
        try:
            enhancer.init_weights()
        finally:
            logger.setLevel(level)
    else:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        ckpt = _load_checkpoint(checkpoint, map_location='cpu')
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise ValueError(f'{checkpoint} holds no state dict')
        prefix = settings['prefix']
        if prefix and has_part(state, prefix):
            state = part(state, prefix)
        elif prefix and (has_part(state, RECOVERER) or has_part(state, POSE)):
            raise ValueError(f'{checkpoint} has no G_X weights (no "{prefix}*" keys)')
        mine = enhancer.state_dict()
        bad = [k for k, v in state.items() if k in mine and tuple(v.shape) != tuple(mine[k].shape)]
        missing = sorted(set(mine) - set(state))
        if bad or missing:
            detail = (f'shape mismatch for {bad[:3]}' if bad else f'missing keys {missing[:3]}')
            raise ValueError(f'checkpoint {checkpoint} does not fit the enhancer of the model '
                             f'config ({detail})')
        load_state_dict(enhancer, state, strict=True)
    return enhancer.to(device).eval(), settings


# ----------------------------------------------------------------------------- portraits
def coco_person_boxes(img_path: str) -> Optional[np.ndarray]:
    """xyxy person boxes of ``img_path`` from a COCO annotation file next to it, if one lists it.

    Looks at ``*.json`` in the image's folder and in ``../annotations/`` (the layouts of
    ../shared/data/mmpose-tiny and people-mini). Returns None when no file mentions the image.
    """
    import contextlib
    import io

    from pycocotools.coco import COCO
    img_path = Path(img_path)
    candidates = sorted(img_path.parent.glob('*.json')) + \
        sorted((img_path.parent.parent / 'annotations').glob('*.json'))
    for ann_file in candidates:
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints its loading progress
                coco = COCO(str(ann_file))
        except Exception:  # noqa: BLE001 - not a COCO file (other JSON next to the image, unreadable)
            continue
        ids = [i for i, im in coco.imgs.items() if osp.basename(im.get('file_name', '')) == img_path.name]
        if not ids:
            continue
        anns = coco.loadAnns(coco.getAnnIds(imgIds=ids[:1]))
        b = np.asarray([a['bbox'] for a in anns if not a.get('iscrowd', 0) and a['bbox'][2] > 0 and a['bbox'][3] > 0],
                       np.float32).reshape(-1, 4)
        b[:, 2:] += b[:, :2]  # xywh -> xyxy
        return b
    return None


def load_portraits(img: Union[str, np.ndarray],
                   size: int,
                   bboxes: Optional[Sequence[Sequence[float]]] = None,
                   margin: float = 1.25) -> Tuple[Tensor, Tensor]:
    """Person portraits x of one frame, exactly as ReCanon cuts them (BGR, [-1, 1], S x S).

    Args:
        img: image path or BGR uint8 array (as loaded by MMPose).
        size: portrait side S (the model's ``portrait_size``).
        bboxes: xyxy person boxes; None takes them from a COCO annotation file next to the image
            (:func:`coco_person_boxes`), else the whole frame is one person.
        margin: ReCanon's ``portrait_margin``.
    Returns:
        (portraits (N, 3, S, S) float32 in [-1, 1], square crop boxes (N, 4)).
    """
    import mmcv
    if isinstance(img, (str, Path)):
        if not osp.isfile(img):
            raise FileNotFoundError(f'image not found: {img}')
        path = str(img)
        img = mmcv.imread(path)  # BGR uint8, MMPose's LoadImage default
        if img is None:
            raise ValueError(f'cannot read image {path}')
        if bboxes is None:
            bboxes = coco_person_boxes(path)
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'img must be an H x W x 3 BGR array, got {getattr(img, "shape", img)}')
    h, w = img.shape[:2]
    if bboxes is None or len(bboxes) == 0:
        bboxes = [[0, 0, w, h]]
    boxes = torch.as_tensor(np.asarray(bboxes, np.float32).reshape(-1, 4))
    frame = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
    squares = square_boxes(boxes, margin)
    # as ReCanon.crop: [0, 255] -> [-1, 1], mid-grey (0) outside the frame
    portraits = crop_portraits(to_unit(frame), [squares], size, pad_value=0.0)
    return portraits, squares


# ----------------------------------------------------------------------------- export
def export_enhancer_module(module: nn.Module,
                           deploy_cfg: Union[str, mmengine.Config],
                           work_dir: str,
                           example: Optional[Tensor] = None) -> str:
    """Export a wrapped G_X (:class:`EnhancerExportModule`) with ``mmdeploy.apis.onnx.export``.

    Uses the deploy config's ``onnx_config`` (names, opset, dynamic axes, input shape) inside
    MMDeploy's rewriter context. ``example`` is the tracing input (default: zeros of the static
    shape; values do not matter for this graph). Returns the path of the ONNX file.
    """
    from mmdeploy.apis.onnx import export
    from mmdeploy.utils import get_dynamic_axes

    settings = enhancer_deploy_settings(deploy_cfg)
    cfg = settings['cfg']
    onnx_cfg = cfg.onnx_config
    w, h = settings['input_shape']
    if example is None:
        example = torch.zeros(1, 3, h, w)
    if tuple(example.shape[-2:]) != (h, w):
        raise ValueError(f'example portraits are {tuple(example.shape[-2:])} but the deploy config '
                         f'input_shape is {w}x{h}')
    mmengine.mkdir_or_exist(osp.abspath(work_dir))
    save_file = onnx_cfg.get('save_file', 'enhancer.onnx')
    prefix = osp.join(work_dir, osp.splitext(osp.basename(save_file))[0])
    input_names, output_names = list(onnx_cfg['input_names']), list(onnx_cfg['output_names'])
    module = module.cpu().eval()
    export(
        module,
        example.cpu(),
        output_path_prefix=prefix,
        backend=settings['backend'],
        context_info=dict(deploy_cfg=cfg),
        input_names=input_names,
        output_names=output_names,
        opset_version=onnx_cfg.get('opset_version', 11),
        dynamic_axes=get_dynamic_axes(cfg, input_names + output_names),
        verbose=onnx_cfg.get('verbose', False),
        keep_initializers_as_inputs=onnx_cfg.get('keep_initializers_as_inputs', False),
        optimize=onnx_cfg.get('optimize', False))
    return prefix + '.onnx'


def export_enhancer(deploy_cfg: Union[str, mmengine.Config],
                    model_cfg: Union[str, mmengine.Config],
                    checkpoint: Optional[str],
                    work_dir: str,
                    img: Optional[str] = None,
                    bboxes: Optional[Sequence[Sequence[float]]] = None,
                    device: str = 'cpu',
                    quantize: Optional[bool] = None) -> Dict:
    """Build G_X from (model config, checkpoint) and export it to ONNX for the deploy config.

    The deploy config's input_shape must equal the model's portrait_size (G_X was trained at that
    scale). ``quantize`` overrides ``codebase_config.quantize`` (None there: the model config's
    ``quantize``). With ``img`` the trace runs on its real portraits.
    Returns dict(onnx=path, module=EnhancerExportModule (eval), portraits=tracing input,
    deploy_cfg, settings).
    """
    dep = enhancer_deploy_settings(deploy_cfg)
    enhancer, settings = build_enhancer(model_cfg, checkpoint, device)
    w, h = dep['input_shape']
    size = settings['portrait_size']
    if (w, h) != (size, size):
        raise ValueError(f'deploy config input_shape {w}x{h} does not match the model\'s '
                         f'portrait_size {size}; use a deploy config for {size}x{size}')
    if quantize is None:
        quantize = dep['quantize'] if dep['quantize'] is not None else settings['quantize']
    module = EnhancerExportModule(enhancer, quantize=quantize).eval()
    portraits = None
    if img is not None:
        portraits, _ = load_portraits(img, size, bboxes, settings['portrait_margin'])
        portraits = portraits[:1]  # static graphs take batch 1
    with torch.no_grad():  # fail here with G_X's own message, not inside the ONNX tracer
        module(torch.zeros(1, 3, h, w))
    onnx_file = export_enhancer_module(module, dep['cfg'], work_dir, portraits)
    return dict(onnx=onnx_file, module=module, portraits=portraits, deploy_cfg=dep['cfg'],
                settings=settings)


# ----------------------------------------------------------------------------- verification
def ort_session(onnx_file: str, threads: Optional[int] = None, optimize_all: bool = True):
    """A CPU ONNX Runtime session (graph optimisation level ALL, ``threads`` intra-op threads)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    if optimize_all:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(onnx_file), opts, providers=['CPUExecutionProvider'])


def verify_enhancer(onnx_file: str, module: nn.Module, portraits: Tensor) -> Dict:
    """Run the ONNX graph with ONNX Runtime on ``portraits`` and compare with PyTorch.

    For a static graph the portraits are run one at a time. Returns dict(max_abs_diff,
    mean_abs_diff, level_mismatch (fraction of values whose 8-bit level differs), n, ort, torch).
    """
    sess = ort_session(onnx_file)
    in_name = sess.get_inputs()[0].name
    batch_dim = sess.get_inputs()[0].shape[0]
    chunks = [portraits] if not isinstance(batch_dim, int) else list(portraits.split(batch_dim))
    ort_out = np.concatenate([sess.run(None, {in_name: c.numpy()})[0] for c in chunks])
    with torch.no_grad():
        ref = module.cpu().eval()(portraits).numpy()
    diff = np.abs(ort_out - ref)
    levels = lambda a: np.round((a + 1.0) * 127.5)  # noqa: E731
    return dict(max_abs_diff=float(diff.max()), mean_abs_diff=float(diff.mean()),
                level_mismatch=float((levels(ort_out) != levels(ref)).mean()),
                n=int(portraits.shape[0]), ort=ort_out, torch=ref)
