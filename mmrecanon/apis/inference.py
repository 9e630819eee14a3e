"""Inference API: load a trained ReCanon, find people, anonymize (G_X) and recover (G_Y) whole images.

Typical use::

    model = init_recanon('configs/cpu/recanon_blur_people-mini.py', 'epoch_30.pth')
    out = anonymize_image(model, cv2.imread('street.jpg'))          # y' pasted into the frame
    back = recover_image(model, out['enhanced'], out['boxes'])      # x' = G_Y(y') pasted back

Conventions:

* Images are ``uint8`` BGR arrays (as ``cv2.imread``).  :func:`as_bgr_uint8` converts grey (H×W or
  H×W×1) to BGR by repeating the channel, drops the alpha channel of BGRA images (the stored colour of
  transparent pixels is kept) and maps 16-bit images to 8 bits (÷257); images with a side longer than
  ``MAX_SIDE`` are refused.
* Person boxes are xyxy in image pixels.  They are clipped to the image; boxes left with no area are
  dropped.  Each person's portrait box is the square ``square_boxes(box, model.portrait_margin)``; the
  portrait is cut from the frame at its *full* resolution, resized to ``model.portrait_size``,
  translated and pasted back, so every pixel outside the portrait boxes is bit-identical to the input.
* Models with ``native_resolution=True`` do not resample anybody: each person's region (box × margin on
  whole pixels, overlapping regions merged) is cut into ``portrait_size`` tiles at the frame's own
  resolution, with A at the person's scale (``models/utils/tiles.py``); ``boxes`` are then those integer
  regions, and a key-locked model derives one nonce per tile from its region's nonce.
* Portrait boxes (returned as ``boxes``) are what recovery needs; they are not secret (they only say
  where people are, which the privacy-enhanced frame shows anyway).
* No person → :func:`anonymize_image` returns the frame unchanged (a copy) with empty boxes and poses;
  :func:`desensitize_frame` is the fail-closed alternative (A(x) on the whole frame) the CLI applies by
  default (``mmrecanon anonymize --if-nobody``).
"""
import os.path as osp
import warnings
from typing import Dict, List, Optional, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import InstanceData
from torch import Tensor

from ..models.recanon import ReCanon, to_pixels, to_uint8, to_unit
from ..models.utils.keylock import (NONCE_BYTES, KeyLockError, check_value, generate_nonce, tile_nonce,
                                     verify_key)
from ..models.utils.portrait import square_boxes
from ..models.utils.tiles import cut_tiles, native_regions, put_tiles, region_tiles
from ..compat import library_notices_off
from ..io.checkpoint import POSE as _POSE
from ..io.checkpoint import RECOVERER as _RECOVERER
from ..io.checkpoint import TRAINING_ONLY, has_part, state_dict_of
from ..runtime import load_config

__all__ = ['MAX_SIDE', 'InputError', 'as_bgr_uint8', 'read_image', 'init_recanon', 'init_person_detector',
           'detect_people', 'estimate_poses', 'anonymize_image', 'recover_image', 'clip_boxes',
           'checkpoint_has_recoverer', 'is_key_locked', 'check_key_use', 'KeyLockError', 'in_chunks',
           'desensitize_frame', 'recover_without_key']

# Longest image side accepted.  8192 px covers 8K video frames; beyond that one float32 copy of the
# frame needs > 0.8 GB and the portraits (resized to ``portrait_size``) lose almost all detail anyway.
MAX_SIDE = 8192
# Portraits translated per forward pass (bounds memory on frames with many people).
CHUNK = 16
# Parameters of these sub-networks are not needed for inference (discriminators, zero-shot P).
_UNUSED_PREFIXES = TRAINING_ONLY


class InputError(ValueError):
    """A bad input image/frame (empty, corrupt, too large, wrong type); the CLI skips the file."""


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f'{type(err).__name__}: {text[0]}' if text else type(err).__name__


# ---------------------------------------------------------------------------------------------- images
def as_bgr_uint8(img: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Validate an image and convert it to H×W×3 uint8 BGR (see the module docstring)."""
    if not isinstance(img, np.ndarray):
        raise InputError(f'image must be a numpy array, got {type(img).__name__}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
        raise InputError(f'image must be H×W (grey), H×W×3 (BGR) or H×W×4 (BGRA), got shape {img.shape}')
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        raise InputError(f'image is empty (shape {img.shape})')
    if max(h, w) > max_side:
        raise InputError(f'image is {w}×{h} px; the longest side may be at most {max_side} px (resize it first)')
    if img.dtype == np.uint16:
        img = np.round(img / 257.0).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise InputError(f'image must be uint8 or uint16, got {img.dtype}')
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(img)


def _header_size(data: bytes) -> Optional[Tuple[int, int]]:
    """(width, height) from the file header without decoding the pixels (None if PIL cannot tell)."""
    try:
        import io

        from PIL import Image
        limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # header only: our limit applies
        try:
            with Image.open(io.BytesIO(data)) as im:
                return im.size
        finally:
            Image.MAX_IMAGE_PIXELS = limit
    except Exception:  # noqa: BLE001 - unknown to PIL: let OpenCV decide
        return None


def read_image(path: str, max_side: int = MAX_SIDE) -> np.ndarray:
    """Read an image file as uint8 BGR; grey/BGRA/16-bit are converted (:func:`as_bgr_uint8`).

    Raises :class:`InputError` for empty, corrupt or too large files.  The size is checked from the
    header before decoding, so huge files are refused without allocating them.  EXIF orientation is not
    applied: pixels are processed (and written) as stored.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile + imdecode: non-ASCII paths work too
    except OSError as e:
        raise InputError(f'cannot read {path}: {_first_line(e)}') from None
    if data.size == 0:
        raise InputError('empty file')
    size = _header_size(data.tobytes())
    if size is not None and max(size) > max_side:
        raise InputError(f'image is {size[0]}×{size[1]} px; the longest side may be at most {max_side} px '
                         '(resize it first)')
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError('cannot decode the image (corrupt or unsupported file)')
    return as_bgr_uint8(img, max_side)


# ---------------------------------------------------------------------------------------------- model
def checkpoint_has_recoverer(state_dict: dict) -> bool:
    return has_part(state_dict, _RECOVERER)



def _check_keys(model: ReCanon, sd: dict, checkpoint: str, config: str, elsewhere: Tuple[str, ...] = ()) -> bool:
    """Raise a one-line ValueError when ``sd`` does not fit ``model``; return whether it has G_Y.

    Weights under the ``elsewhere`` prefixes come from another file and are not checked."""
    own = {k: v for k, v in model.state_dict().items() if not k.startswith(_UNUSED_PREFIXES + elsewhere)}
    has_g_y = model.has_generators and checkpoint_has_recoverer(sd)
    needed = {k for k in own if has_g_y or not k.startswith(_RECOVERER)}
    missing = sorted(needed - set(sd))
    unexpected = sorted(k for k in sd if k not in own and not k.startswith(_UNUSED_PREFIXES + elsewhere))
    shape = sorted(k for k in needed & set(sd) if tuple(sd[k].shape) != tuple(own[k].shape))
    if missing or unexpected or shape:
        parts = []
        for what, keys in (('missing', missing), ('unexpected', unexpected), ('of another shape', shape)):
            if keys:
                parts.append(f'{len(keys)} weights {what} (e.g. {keys[0]})')
        raise ValueError(f'checkpoint {checkpoint} does not fit the model of {config}: ' + ', '.join(parts))
    return has_g_y


def _pose_input_size(cfg: Config) -> Optional[Tuple[int, int]]:
    """Letter-box size for bottom-up P: the test pipeline's ``BottomupResize``, else P's codec."""
    resize = _bottomup_resize_cfg(cfg)
    if resize is not None:
        return tuple(resize['input_size'])
    for codec in (cfg.get('pose_codec'), cfg.model.get('pose_codec')):
        if codec and 'input_size' in codec:
            return tuple(codec['input_size'])
    return None


# test-pipeline transforms that letter-box a frame for a bottom-up P (the first one found is used)
LETTERBOX_TYPES = ('BottomupResize', 'YOLOLetterBox')


def _bottomup_resize_cfg(cfg: Config) -> Optional[dict]:
    try:
        pipeline = cfg.test_dataloader.dataset.pipeline
    except AttributeError:
        return None
    for t in pipeline:
        if str(t.get('type', '')).split('.')[-1] in LETTERBOX_TYPES:
            return dict(t)
    return None


def _mmpose_metainfo(name: str) -> Optional[dict]:
    import mmpose
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    path = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets', f'{name}.py')
    return parse_pose_metainfo(dict(from_file=path)) if osp.isfile(path) else None


def _dataset_meta(cfg: Config, num_keypoints: int) -> Optional[dict]:
    """Skeleton/colours for drawing: the test dataset's metainfo, else COCO (17) or MPII (16) by K."""
    from mmpose.apis.inference import dataset_meta_from_config
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for mode in ('test', 'val', 'train'):
            try:
                meta = dataset_meta_from_config(cfg, mode)
            except Exception:  # noqa: BLE001 - dataset config missing or unparsable: fall back
                meta = None
            if meta and meta.get('num_keypoints') == num_keypoints:
                return meta
        return _mmpose_metainfo({17: 'coco', 16: 'mpii'}.get(num_keypoints, ''))


def _num_keypoints(pose_estimator) -> int:
    head = getattr(pose_estimator, 'head', None)
    for attr in ('num_keypoints', 'out_channels'):
        k = getattr(head, attr, None)
        if isinstance(k, int):
            return k
    return 17


def recanon_model_cfg(cfg: Config, name: str = 'the given config'):
    """``cfg.model``, or a one-line ValueError when the config does not define a ReCanon."""
    if 'model' not in cfg or cfg.model.get('type') != 'ReCanon':
        raise ValueError(f"{name} does not define a ReCanon model (model.type='ReCanon')")
    return cfg.model


def init_recanon(config: Union[str, Config], checkpoint: Optional[str] = None, device: str = 'cpu',
                 cfg_options: Optional[dict] = None, det_config: Optional[str] = None,
                 det_checkpoint: Optional[str] = None, pose_checkpoint: Optional[str] = None,
                 with_pose: bool = True) -> ReCanon:
    """Build a ReCanon from its config, load ``checkpoint`` (MMEngine checkpoint loading), eval mode.

    The checkpoint must hold P and (except for ``method='conventional'``) G_X with the config's shapes;
    G_Y (``recoverer.*``) is optional: ``model.can_recover`` says whether it was loaded (camera exports of
    ``mmrecanon export-camera`` have none).  Discriminator weights are ignored.  ``checkpoint=None`` keeps
    the initial weights (tests only).  With ``det_config``/``det_checkpoint`` an MMDet person detector is
    attached as ``model.detector`` (see :func:`detect_people`). ``pose_checkpoint``: P's weights from their
    own file (P alone, e.g. the YOLOv8 converter's output, whose AGPL-3.0 licence keeps it out of the
    shipped G_X/G_Y checkpoints); ``checkpoint`` then need not hold P, and P is loaded strictly.
    ``with_pose=False`` (recovery only: G_Y never calls P): P's weights are neither required nor loaded, so
    the shipped G_X/G_Y asset recovers without the AGPL-3.0 P; ``model.pose_loaded`` is then False, and
    :func:`detect_people` / :func:`estimate_poses` refuse to run P's untrained weights.

    Sets ``model.cfg``, ``model.dataset_meta`` (keypoint names/skeleton), ``model.num_keypoints``,
    ``model.pose_input_size`` (bottom-up letter-box size), ``model.checkpoint_meta``.
    Raises FileNotFoundError / ValueError with one line for missing files and mismatched checkpoints.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model

    import mmrecanon  # noqa: F401  (registers modules, applies the torch compatibility shims)
    from mmpose.registry import MODELS

    if isinstance(config, Config):
        cfg = config
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        cfg = load_config(str(config), cfg_options)
    name = config if isinstance(config, str) else (cfg.filename or 'the given config')  # a Config from a file: its path
    if pose_checkpoint is not None and not with_pose:
        raise ValueError('pose_checkpoint given with with_pose=False: P would not be loaded')
    for path in (checkpoint, pose_checkpoint):
        if path is not None and not osp.isfile(path):
            raise FileNotFoundError(f'checkpoint file not found: {path}')
    recanon_model_cfg(cfg, name)
    init_default_scope(cfg.get('default_scope', 'mmpose') or 'mmpose')
    try:
        model = MODELS.build(cfg.model)
    except Exception as e:  # noqa: BLE001 - report a bad config in one line
        raise ValueError(f'cannot build the model of {name}: {_first_line(e)}') from None

    model.checkpoint_meta = {}
    model.can_recover = model.has_generators
    if checkpoint is not None:
        try:
            with library_notices_off():
                ckpt = _load_checkpoint(checkpoint, map_location='cpu', logger='silent')
            sd = state_dict_of(ckpt)
        except Exception as e:  # noqa: BLE001 - corrupt / foreign file
            raise ValueError(f'cannot read checkpoint {checkpoint}: {_first_line(e)}') from None
        elsewhere = (_POSE, ) if pose_checkpoint is not None or not with_pose else ()
        model.can_recover = _check_keys(model, sd, checkpoint, name, elsewhere)
        keep = {k: v for k, v in sd.items() if not k.startswith(_UNUSED_PREFIXES + elsewhere)}
        _load_checkpoint_to_model(model, {'state_dict': keep}, strict=False, logger='silent')
        model.checkpoint_meta = ckpt.get('meta', {}) if isinstance(ckpt.get('meta'), dict) else {}
    if pose_checkpoint is not None:
        _load_pose(model, pose_checkpoint, name)
    model.pose_loaded = with_pose
    model.cfg = cfg
    model.num_keypoints = _num_keypoints(model.pose_estimator)
    model.dataset_meta = _dataset_meta(cfg, model.num_keypoints)
    model.pose_input_size = _pose_input_size(cfg)
    model.pose_resize_cfg = _bottomup_resize_cfg(cfg)
    model.to(device)
    model.eval()
    detector = None
    if det_config is not None or det_checkpoint is not None:
        detector = init_person_detector(det_config, det_checkpoint, device)
    model.__dict__['detector'] = detector  # a plain attribute, not a submodule (not in state_dict)
    return model


def _load_pose(model: ReCanon, path: str, config: str) -> None:
    """P's weights (with or without the ``pose_estimator.`` prefix), strictly, one-line errors."""
    from mmengine.runner.checkpoint import _load_checkpoint
    try:
        with library_notices_off():
            sd = state_dict_of(_load_checkpoint(path, map_location='cpu', logger='silent'))
    except Exception as e:  # noqa: BLE001 - corrupt / foreign file
        raise ValueError(f'cannot read pose checkpoint {path}: {_first_line(e)}') from None
    sd = {k[len(_POSE):] if k.startswith(_POSE) else k: v for k, v in sd.items()}
    own = model.pose_estimator.state_dict()
    bad = sorted(set(own) ^ set(sd)) + sorted(k for k in set(own) & set(sd) if own[k].shape != sd[k].shape)
    if bad:
        raise ValueError(f'pose checkpoint {path} does not fit the P of {config} ({len(bad)} weights differ, '
                         f'e.g. {bad[0]})')
    model.pose_estimator.load_state_dict(sd)


def init_person_detector(det_config: Optional[str], det_checkpoint: Optional[str], device: str = 'cpu'):
    """An MMDet detector (``mmdet.apis.init_detector``) whose 'person' class gives the person boxes."""
    if det_config is None:
        raise ValueError('a person detector needs --det-config as well as --det-checkpoint')
    if not osp.isfile(det_config):
        raise FileNotFoundError(f'detector config file not found: {det_config}')
    if det_checkpoint is not None and not osp.isfile(det_checkpoint):
        raise FileNotFoundError(f'detector checkpoint file not found: {det_checkpoint}')
    from mmdet.apis import init_detector
    from mmengine.registry import DefaultScope
    from mmpose.utils import adapt_mmdet_pipeline

    try:  # init_detector sets the global default scope to mmdet; keep mmpose's for P afterwards
        with DefaultScope.overwrite_default_scope('mmdet'), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            det = init_detector(det_config, det_checkpoint, device=device)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f'cannot build the detector {det_config}: {_first_line(e)}') from None
    det.cfg = adapt_mmdet_pipeline(det.cfg)
    classes = [str(c).lower() for c in (det.dataset_meta or {}).get('classes', ())]
    if classes and 'person' not in classes:
        raise ValueError(f'the detector {det_config} has no "person" class (classes: {classes[:5]}...)')
    det.person_label = classes.index('person') if classes else 0
    return det


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _frame_tensor(model, img: np.ndarray) -> Tensor:
    return torch.from_numpy(img).permute(2, 0, 1)[None].float().to(_device(model))


def _frame_sample(model, img: np.ndarray):
    from mmpose.structures import PoseDataSample
    meta = dict(img_shape=img.shape[:2], ori_shape=img.shape[:2])
    if model.dataset_meta:
        meta['flip_indices'] = model.dataset_meta.get('flip_indices')
    return PoseDataSample(metainfo=meta)


def _letterboxed(model, img: np.ndarray):
    """The frame letter-boxed to P's input size as the test pipeline does it (``BottomupResize`` or
    ``YOLOLetterBox``) + ``PackPoseInputs``."""
    from mmpose.datasets.transforms import PackPoseInputs
    from mmpose.registry import TRANSFORMS
    resize_cfg = dict(model.pose_resize_cfg or {})
    if not resize_cfg:
        if model.pose_input_size is None:
            raise ValueError('bottom-up P needs an input size: add BottomupResize to test_dataloader or '
                             'pose_codec=dict(input_size=...) to the config')
        resize_cfg = dict(type='BottomupResize', input_size=model.pose_input_size, pad_val=(114, 114, 114))
    results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
    if model.dataset_meta:
        results['flip_indices'] = model.dataset_meta.get('flip_indices')
    results = TRANSFORMS.build(resize_cfg)(results)
    packed = PackPoseInputs(meta_keys=('ori_shape', 'img_shape', 'input_size', 'input_center',
                                       'input_scale', 'flip_indices'))(results)
    return packed['inputs'][None].float().to(_device(model)), packed['data_samples']


def _instance_scores(inst: InstanceData) -> np.ndarray:
    for key in ('bbox_scores', 'scores'):
        if key in inst:
            return np.asarray(inst.get(key), np.float32).reshape(-1)
    return np.asarray(inst.keypoint_scores, np.float32).reshape(len(inst), -1).mean(1)


def _instance_boxes(inst: InstanceData) -> np.ndarray:
    if 'bboxes' in inst:
        return np.asarray(inst.bboxes, np.float32).reshape(-1, 4)
    kpts = np.asarray(inst.keypoints, np.float32).reshape(len(inst), -1, 2)  # P gives no boxes: hull
    return np.concatenate([kpts.min(1), kpts.max(1)], axis=1) if len(kpts) else np.zeros((0, 4), np.float32)


def _to_numpy_instances(inst: InstanceData) -> InstanceData:
    out = InstanceData()
    for k, v in inst.items():
        out.set_field(v.detach().cpu().numpy() if isinstance(v, Tensor) else np.asarray(v), k)
    return out


def _check_pose_loaded(model) -> None:
    if not getattr(model, 'pose_loaded', True):
        raise ValueError('this model was loaded for recovery only (init_recanon(..., with_pose=False)): P has '
                         'no weights; load it with P (the checkpoint or --pose-checkpoint) to find people or poses')


def _is_topdown(model) -> bool:
    return model.pose.pose_mode == 'topdown'


@torch.no_grad()
def _bottomup_predict(model, img: np.ndarray, score_thr: float) -> InstanceData:
    inputs, sample = _letterboxed(model, img)
    inst = _to_numpy_instances(model.pose.predict(inputs, [sample])[0])
    return inst[_instance_scores(inst) >= score_thr]


def clip_boxes(boxes, shape: Tuple[int, int]) -> np.ndarray:
    """(N, 4) xyxy boxes clipped to an H×W image; boxes with no area left are dropped."""
    try:
        arr = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError('boxes must be a list of [x1, y1, x2, y2] numbers') from None
    if arr.size == 0:
        return np.zeros((0, 4), np.float32)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f'boxes must be (N, 4) [x1, y1, x2, y2], got shape {arr.shape}')
    if not np.isfinite(arr).all():
        raise ValueError('boxes must be finite numbers')
    h, w = shape[:2]
    arr = arr.copy()
    arr[:, 0::2] = arr[:, 0::2].clip(0, w)
    arr[:, 1::2] = arr[:, 1::2].clip(0, h)
    keep = (arr[:, 2] > arr[:, 0]) & (arr[:, 3] > arr[:, 1])
    return arr[keep].astype(np.float32)


@torch.no_grad()
def detect_people(model, img: np.ndarray, score_thr: float = 0.3, detector=None) -> np.ndarray:
    """Person boxes (N, 4) xyxy in image pixels, scores ≥ ``score_thr``.

    From the MMDet ``detector`` (or ``model.detector``) if there is one (its 'person' class only);
    otherwise from a bottom-up P's own predictions on the frame letter-boxed to P's input size.  A
    top-down P cannot find people by itself: a ValueError asks for a detector or boxes.
    """
    img = as_bgr_uint8(img)
    detector = detector if detector is not None else getattr(model, 'detector', None)
    if detector is not None:
        from mmdet.apis import inference_detector
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmdet'):
            det = inference_detector(detector, img).pred_instances.cpu().numpy()
        keep = (det.labels == getattr(detector, 'person_label', 0)) & (det.scores >= score_thr)
        return clip_boxes(det.bboxes[keep].reshape(-1, 4), img.shape)
    _check_pose_loaded(model)
    if _is_topdown(model):
        raise ValueError('the pose model is top-down and cannot find people by itself: give person boxes '
                         '(--boxes BOXES.json) or a detector (--det-config/--det-checkpoint)')
    return clip_boxes(_instance_boxes(_bottomup_predict(model, img, score_thr)), img.shape)


@torch.no_grad()
def estimate_poses(model, img: np.ndarray, person_boxes: Optional[np.ndarray] = None,
                   score_thr: float = 0.3) -> InstanceData:
    """P on a frame; keypoints/boxes in image pixels (numpy fields).

    Top-down P: one instance per person box.  Bottom-up P: its own instances with score ≥ ``score_thr``.
    """
    img = as_bgr_uint8(img)
    _check_pose_loaded(model)
    if not _is_topdown(model):
        return _bottomup_predict(model, img, score_thr)
    boxes = np.zeros((0, 4), np.float32) if person_boxes is None else np.asarray(person_boxes, np.float32)
    boxes_t = torch.as_tensor(boxes.reshape(-1, 4), device=_device(model))
    inst = model.pose.predict(_frame_tensor(model, img), [_frame_sample(model, img)], [boxes_t])[0]
    return _to_numpy_instances(inst)


def in_chunks(fn, x: Tensor, *per_item) -> Tensor:
    """``fn`` on chunks of ``CHUNK`` portraits of ``x``; ``per_item`` lists (keys, nonces) are chunked alongside."""
    if not len(x):
        return x
    return torch.cat([fn(x[i:i + CHUNK], *(None if v is None else v[i:i + CHUNK] for v in per_item))
                      for i in range(0, len(x), CHUNK)])


def is_key_locked(model) -> bool:
    return getattr(model, 'key_lock', None) is not None


def check_can_recover(model) -> None:
    """ValueError unless the model has G_Y's weights (not a camera export, not the conventional A(x))."""
    if not getattr(model, 'can_recover', model.has_generators):
        reason = ('the conventional model A(x) is not reversible' if not model.has_generators else
                  'this checkpoint has no recovery weights (G_Y); a camera export cannot recover people, '
                  'use the full checkpoint')
        raise ValueError(f'cannot recover: {reason}')


def check_key_use(model, key: Optional[bytes], action: str) -> None:
    if is_key_locked(model) and key is None:
        raise KeyLockError(f'this model is key-locked: {action} needs the key (a key file from '
                           '"mmrecanon keygen", passed with --key-file)')
    if not is_key_locked(model) and key is not None:
        raise KeyLockError('this model is not key-locked (its config has no key_lock): a key would protect '
                           'nothing; drop --key-file or use a key-locked model')


def _to_uint8_image(frame: Tensor) -> np.ndarray:
    return to_uint8(frame[0]).permute(1, 2, 0).cpu().numpy()


@torch.no_grad()
def anonymize_image(model, img: np.ndarray, boxes=None, score_thr: float = 0.3,
                    key: Optional[bytes] = None, use_desensitizer: bool = False, estimate: bool = True) -> Dict:
    """Privacy-enhance every person of a frame: y' = G_X(x) pasted back (A(x) for 'conventional').

    Args:
        model: from :func:`init_recanon`.
        img: uint8 BGR (grey/BGRA/16-bit are converted, see :func:`as_bgr_uint8`).
        boxes: person boxes (N, 4) xyxy in image pixels (clipped to the image); None → :func:`detect_people`.
        score_thr: detection / bottom-up pose score threshold.
        key: the 32-byte key of a key-locked model (required there, refused elsewhere).
        use_desensitizer: paste A(x) (the conventional baseline) instead of G_X(x); no key is used.
        estimate: run P on the privacy-enhanced frame (``poses``; empty when False).
    Returns:
        dict(enhanced=uint8 H×W×3 frame, boxes=square portrait boxes used (list of [x1, y1, x2, y2]
        floats; recovery needs them), person_boxes=the clipped person boxes (N×4 float32),
        poses=InstanceData of P on the enhanced frame, image pixels); key-locked models add
        nonces (hex, one per portrait; public) and key_check (the key's check value; public).
    """
    if use_desensitizer:
        key = None
    else:
        check_key_use(model, key, 'anonymizing')
    return anonymize_checked(model, img, boxes, score_thr, key, use_desensitizer, estimate)


@torch.no_grad()
def anonymize_checked(model, img: np.ndarray, boxes=None, score_thr: float = 0.3, key: Optional[bytes] = None,
                      use_desensitizer: bool = False, estimate: bool = True, nonces=None, hold=None) -> Dict:
    """:func:`anonymize_image` after its key check (which ``apis.Anonymizer`` does once, when it is built).

    For a video stream (``apis.video.VideoAnonymizer``): ``nonces`` maps the portrait boxes / regions to their
    nonces (default: a fresh one each) and ``hold`` (a ``TileHold``) reuses unchanged native tiles' y'.
    """
    img = as_bgr_uint8(img)
    person = detect_people(model, img, score_thr) if boxes is None else clip_boxes(boxes, img.shape)
    native = getattr(model, 'native_resolution', False)
    if native:
        portraits, scales = native_regions(person, img.shape[:2], model.portrait_margin, model.portrait_size)
        portraits = torch.as_tensor(portraits, dtype=torch.float32).reshape(-1, 4)
    else:
        portraits = square_boxes(torch.as_tensor(person, dtype=torch.float32).reshape(-1, 4),
                                 model.portrait_margin)
    if key is None:
        nonces = None
    else:
        nonces = [generate_nonce() for _ in range(len(portraits))] if nonces is None else nonces(portraits.tolist())
    if len(portraits) and native:
        frame = _frame_tensor(model, img)
        mode = 'desensitize' if use_desensitizer or not model.has_generators else 'enhance'
        enhanced = _to_uint8_image(_native_regions_apply(model, frame, portraits, scales, mode, key, nonces, hold,
                                                         person=person))
    elif len(portraits) == 0:
        enhanced = img.copy()
    else:
        frame = _frame_tensor(model, img)
        rois = [portraits.to(frame.device)]
        x = model.crop(frame, rois)
        if use_desensitizer or not model.has_generators:
            y = in_chunks(model.desensitizer, x)
        else:
            y = in_chunks(model.enhance, x, None if key is None else [key] * len(portraits), nonces)
        enhanced = _to_uint8_image(model.paste(frame, y, rois))
    poses = estimate_poses(model, enhanced, person, score_thr) if estimate else InstanceData()
    out = dict(enhanced=enhanced, boxes=portraits.tolist(), person_boxes=person, poses=poses)
    if key is not None:
        out.update(nonces=[n.hex() for n in nonces], key_check=check_value(key))
    return out


@torch.no_grad()
def desensitize_frame(model, img: np.ndarray) -> np.ndarray:
    """The conventional desensitizer A(x) on the *whole* frame, which is treated as one portrait.

    The frame is resized (antialiased) so that its longer side is ``model.portrait_size``, A is applied
    there and the result is resized back (bilinear) to the frame size; every pixel is replaced.  In frame
    pixels A is therefore at least as strong as on the portrait of any person whose portrait box fits in
    the frame.  Used when nobody was found, so that nobody missed by detection passes through; not
    reversible (G_Y does not undo A) and no key is involved.
    """
    img = as_bgr_uint8(img)
    h, w = img.shape[:2]
    scale = model.portrait_size / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    x = to_unit(_frame_tensor(model, img))
    small = F.interpolate(x, size=size, mode='bilinear', align_corners=False, antialias=scale < 1)
    y = F.interpolate(model.desensitizer(small), size=(h, w), mode='bilinear', align_corners=False)
    return _to_uint8_image(to_pixels(y))


def _tile_keys(key: Optional[bytes], nonces: Optional[List[bytes]], counts: List[int]):
    """Per tile: the key and the nonce derived from its region's nonce (None, None without a key)."""
    if key is None:
        return None, None
    per_tile = [tile_nonce(n, t) for n, c in zip(nonces, counts) for t in range(c)]
    return [key] * len(per_tile), per_tile


def _native_regions_apply(model, frame: Tensor, regions: Tensor, scales, mode: str, key, nonces,
                          hold=None, person=None) -> Tensor:
    """A frame (1, C, H, W) in [0, 255] with every native-resolution region replaced.

    ``mode``: 'enhance' (y' tile by tile, A at each region's scale), 'recover' (x' from the y' tiles;
    ``scales`` unused) or 'desensitize' (A(x) alone, the conventional baseline). ``hold`` (enhance only, a
    ``apis.video.TileHold``): tiles it holds reuse their earlier y' and skip G_X. ``person`` (enhance, models
    with a pose band): the person boxes, whose band (``ReCanon.frame_band``) is added inside the regions.
    """
    unit = to_unit(frame[0])
    out = unit.clone()
    size = model.portrait_size
    x_tiles, a_tiles, valid, local, counts = [], [], [], [], []
    for i, (x0, y0, x1, y1) in enumerate(regions.round().long().tolist()):
        part = unit[None, :, y0:y1, x0:x1]
        if mode != 'recover':
            a = model.desensitizer(part, scale=float(scales[i]))[0]
            if mode == 'desensitize':
                out[:, y0:y1, x0:x1] = a
                continue
        rects = region_tiles((0, 0, x1 - x0, y1 - y0), size)
        x_t, v = cut_tiles(part[0], rects, size)
        x_tiles.append(x_t)
        if mode == 'enhance':
            a_tiles.append(cut_tiles(a, rects, size)[0])
        valid += v
        local.append((x0, y0, x1, y1, rects))
        counts.append(len(rects))
    if not x_tiles:
        return to_pixels(out)[None]
    x_all = torch.cat(x_tiles)
    keys, tile_nonces = _tile_keys(key, nonces, counts)
    if mode == 'recover':
        y_all = in_chunks(lambda x, v, k, n: model.recover(x, k, n, v), x_all, valid, keys, tile_nonces)
    else:
        a_all = torch.cat(a_tiles)
        rects = [(x0 + rx0, y0 + ry0, x0 + rx1, y0 + ry1)
                 for x0, y0, _, _, rs in local for rx0, ry0, rx1, ry1 in rs.tolist()]
        reused = hold.lookup(rects, x_all, a_all, valid, tile_nonces) if hold is not None else [None] * len(rects)
        todo = [i for i, r in enumerate(reused) if r is None]

        def pick(v):
            return None if v is None else [v[i] for i in todo]

        y_new = in_chunks(lambda x, a, v, k, n: model.enhance(x, k, n, a, v), x_all[todo], a_all[todo],
                          pick(valid), pick(keys), pick(tile_nonces))
        y_all = torch.empty_like(x_all)
        if todo:
            y_all[todo] = y_new.to(y_all)
        for i, r in enumerate(reused):
            if r is not None:
                y_all[i] = r
        if hold is not None:
            hold.store(rects, x_all, a_all, y_all, tile_nonces, [r is not None for r in reused])
    start = 0
    for (x0, y0, x1, y1, rects), c in zip(local, counts):
        out[:, y0:y1, x0:x1] = put_tiles(out[:, y0:y1, x0:x1], y_all[start:start + c], rects)
        start += c
    if mode == 'enhance' and model.pose_band is not None and person is not None and len(person):
        band = model.frame_band(frame, torch.as_tensor(np.asarray(person, np.float32)))[0]
        for x0, y0, x1, y1, _ in local:  # the band stays inside the regions: nothing else is touched
            out[:, y0:y1, x0:x1] = (out[:, y0:y1, x0:x1] + band[:, y0:y1, x0:x1]).clamp(-1, 1)
    return to_pixels(out)[None]


def _portrait_boxes(boxes) -> Tensor:
    try:
        arr = np.asarray(boxes if boxes is not None else [], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError('portrait boxes must be a list of [x1, y1, x2, y2] numbers') from None
    if arr.size == 0:
        return torch.zeros((0, 4), dtype=torch.float32)
    if arr.ndim != 2 or arr.shape[1] != 4 or not np.isfinite(arr).all():
        raise ValueError(f'portrait boxes must be finite (N, 4) [x1, y1, x2, y2], got shape {arr.shape}')
    if ((arr[:, 2] <= arr[:, 0]) | (arr[:, 3] <= arr[:, 1])).any():
        raise ValueError('portrait boxes need x2 > x1 and y2 > y1')
    return torch.as_tensor(arr, dtype=torch.float32)


def _nonces(nonces, count: int) -> List[bytes]:
    if nonces is None or len(nonces) != count:
        raise KeyLockError(f'key-locked recovery needs one nonce per portrait box ({count}), got '
                           f'{0 if nonces is None else len(nonces)} (they are in the portrait sidecar)')
    try:
        out = [bytes.fromhex(n) if isinstance(n, str) else bytes(n) for n in nonces]
    except (TypeError, ValueError):
        raise KeyLockError('portrait nonces must be hexadecimal strings') from None
    if any(len(n) != NONCE_BYTES for n in out):
        raise KeyLockError(f'portrait nonces must be {NONCE_BYTES} bytes each')
    return out


@torch.no_grad()
def recover_image(model, img: np.ndarray, boxes, key: Optional[bytes] = None, nonces=None,
                  key_check: Optional[str] = None) -> np.ndarray:
    """x' = G_Y(y') for the portraits at ``boxes`` (as returned by :func:`anonymize_image`), pasted back.

    Key-locked models need ``key`` and the portraits' ``nonces``; with ``key_check`` (from
    :func:`anonymize_image`) a wrong key is refused (KeyLockError) before anything is computed.
    Pixels outside the boxes are returned unchanged.  Raises ValueError if the model has no G_Y weights.
    """
    check_can_recover(model)
    check_key_use(model, key, 'recovery')
    if key is not None and key_check is not None:
        verify_key(key, key_check)
    return recover_checked(model, img, boxes, key, nonces)


@torch.no_grad()
def recover_without_key(model, img: np.ndarray, boxes) -> np.ndarray:
    """G_Y on the privacy-enhanced portraits as they were sent, without unlocking them: what a key-locked
    model gives someone who has G_Y but not the key (for measuring the lock; ``tools/analysis``)."""
    if not is_key_locked(model):
        raise KeyLockError('recover_without_key measures a key lock; this model is not key-locked')
    return recover_checked(model, img, boxes, None, None)


@torch.no_grad()
def recover_checked(model, img: np.ndarray, boxes, key: Optional[bytes], nonces) -> np.ndarray:
    """:func:`recover_image` after its checks (G_Y present, key use; ``apis.Anonymizer`` does them once)."""
    img = as_bgr_uint8(img)
    portraits = _portrait_boxes(boxes)
    if len(portraits) == 0:
        return img.copy()
    keys = per_nonce = None
    if key is not None:
        keys, per_nonce = [key] * len(portraits), _nonces(nonces, len(portraits))
    frame = _frame_tensor(model, img)
    if getattr(model, 'native_resolution', False):
        _check_native_regions(portraits, img.shape[:2])
        return _to_uint8_image(_native_regions_apply(model, frame, portraits, None, 'recover', key, per_nonce))
    rois = [portraits.to(frame.device)]
    x = in_chunks(model.recover, model.crop(frame, rois), keys, per_nonce)
    return _to_uint8_image(model.paste(frame, x, rois))


def _check_native_regions(regions: Tensor, shape: Tuple[int, int]) -> None:
    """Native-resolution regions are whole pixels inside the image (as ``anonymize_image`` made them)."""
    r = regions.double()
    h, w = shape
    if (r != r.round()).any() or (r[:, :2] < 0).any() or (r[:, 2] > w).any() or (r[:, 3] > h).any():
        raise ValueError('this model recovers at the native resolution: its portrait boxes are whole-pixel '
                         f'regions inside the {w}×{h} image (as anonymization wrote them); these are not')
