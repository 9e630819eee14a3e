"""Ultralytics YOLOv8-pose weights → the project's YOLOv8-style P (backbone / neck / head keys).

The one place that knows Ultralytics' module numbering. ``tools/model_converters/
yolov8_pose_to_mmrecanon.py`` is the command line around :func:`convert_state_dict`.

Ultralytics' ``yolov8-pose.yaml`` numbers its modules 0–22; the project's P names them after their role:

==========================  =================================  ===========================
Ultralytics                 project                            what
==========================  =================================  ===========================
model.0                     backbone.stem                      stride-2 Conv
model.1/3/5/7               backbone.stage{1..4}.0             stride-2 Conv
model.2/4/6/8               backbone.stage{1..4}.1             C2f (cv1, cv2, m.i.cv1/cv2)
model.9                     backbone.stage4.2                  SPPF (cv1, cv2)
model.12 / 15               neck.top_down4 / top_down3         C2f (no shortcut)
model.16 / 19               neck.down3 / down4                 stride-2 Conv
model.18 / 21               neck.bottom_up4 / bottom_up5       C2f (no shortcut)
model.22.cv2.i.{0,1,2}      head.reg_convs.i.{0,1}, reg_preds  box branch (DFL logits)
model.22.cv3.i.{0,1,2}      head.cls_convs.i.{0,1}, cls_preds  class branch
model.22.cv4.i.{0,1,2}      head.pose_convs.i.{0,1}, kpt/vis   keypoint branch; the last 1×1 conv's
                                                               3K outputs (x, y, v per keypoint) are
                                                               split into kpt_preds (2K) and vis_preds (K)
model.22.dfl                (buffer ``head.proj``)             fixed 0..reg_max-1 projection
==========================  =================================  ===========================

Batch norm: Ultralytics' ``Conv`` is conv (no bias) + BN + SiLU, like ``mmcv.cnn.ConvModule``. A source
may be *unfused* (``.bn.*`` present, e.g. a ``.pt`` training checkpoint) or *fused* (``.conv.bias`` holds
the folded BN, as in OpenVINO/ONNX exports and ``yolov8n-pose_fused_float.npz``). The target may have BN
(``norm_cfg=BN``) or not (``norm_cfg=None``, conv with bias). All four combinations are exact in eval mode:

* fused → no BN: copy; unfused → BN: copy;
* unfused → no BN: fold BN into the conv (``w·γ/√(σ²+ε)``, ``β − μγ/√(σ²+ε)``);
* fused → BN: BN as identity plus the folded bias (γ = 1, β = bias, μ = 0, σ² = 1 − ε). Batch
  statistics in training mode would change the function, so fine-tune such a model with its BN frozen,
  or use the BN-free configs (``configs/_base_/pose/yolov8pose_n_coco_fused.py``), which this project's
  people-mini configs do.
"""
import re
from typing import Dict, Mapping, Tuple

import torch
from torch import Tensor

# Ultralytics module index → project module path.
MODULE_MAP = {
    0: 'backbone.stem',
    1: 'backbone.stage1.0', 2: 'backbone.stage1.1',
    3: 'backbone.stage2.0', 4: 'backbone.stage2.1',
    5: 'backbone.stage3.0', 6: 'backbone.stage3.1',
    7: 'backbone.stage4.0', 8: 'backbone.stage4.1', 9: 'backbone.stage4.2',
    12: 'neck.top_down4', 15: 'neck.top_down3', 16: 'neck.down3',
    18: 'neck.bottom_up4', 19: 'neck.down4', 21: 'neck.bottom_up5',
}
HEAD_INDEX = 22
# inside C2f / SPPF
_INNER = [(re.compile(r'^cv1\.'), 'main_conv.'), (re.compile(r'^cv2\.'), 'final_conv.'),
          (re.compile(r'^m\.(\d+)\.cv1\.'), r'blocks.\1.conv1.'),
          (re.compile(r'^m\.(\d+)\.cv2\.'), r'blocks.\1.conv2.')]
_SPPF_INNER = [(re.compile(r'^cv1\.'), 'conv1.'), (re.compile(r'^cv2\.'), 'conv2.')]
_HEAD_BRANCH = {'cv2': ('reg_convs', 'reg_preds'), 'cv3': ('cls_convs', 'cls_preds'),
                'cv4': ('pose_convs', None)}
_BN_FIELDS = ('weight', 'bias', 'running_mean', 'running_var')
LICENCE = 'AGPL-3.0 (Ultralytics YOLOv8 weights; fine-tuned checkpoints inherit it)'


class ConversionError(ValueError):
    """The source does not fit the target (the command line reports it in one line)."""


def _rename(key: str) -> str:
    """Ultralytics key → project key (before BN handling and the keypoint-conv split)."""
    m = re.match(r'^model\.(\d+)\.(.*)$', key)
    if m is None:
        raise ConversionError(f'not a YOLOv8 key: {key!r} (expected model.<index>.…)')
    idx, rest = int(m.group(1)), m.group(2)
    if idx == HEAD_INDEX:
        h = re.match(r'^(cv2|cv3|cv4)\.(\d+)\.([012])\.(.*)$', rest)
        if h is None:
            raise ConversionError(f'unexpected head key {key!r}')
        branch, level, pos, tail = h.groups()
        convs, preds = _HEAD_BRANCH[branch]
        if pos in '01':
            return f'head.{convs}.{level}.{pos}.{tail}'
        return f'head.{preds or "kpt_vis_preds"}.{level}.{tail}'
    if idx not in MODULE_MAP:
        raise ConversionError(f'unexpected module index {idx} in {key!r} (YOLOv8-pose has no '
                              'weights there)')
    target = MODULE_MAP[idx]
    inner = _SPPF_INNER if idx == 9 else _INNER
    if idx in (0, 1, 3, 5, 7, 16, 19):  # plain Conv
        return f'{target}.{rest}'
    for pattern, repl in inner:
        if pattern.match(rest):
            return f'{target}.{pattern.sub(repl, rest, count=1)}'
    raise ConversionError(f'unexpected key {key!r}')


def _conv_groups(sd: Mapping[str, Tensor]) -> Dict[str, Dict[str, Tensor]]:
    """Group ``<prefix>.conv.weight/bias`` and ``<prefix>.bn.*`` by prefix; bare Conv2d keys stay."""
    groups: Dict[str, Dict[str, Tensor]] = {}
    for key, value in sd.items():
        m = re.match(r'^(.*)\.(conv|bn)\.([a-z_]+)$', key)
        if m is None:
            m2 = re.match(r'^(.*)\.(weight|bias)$', key)
            if m2 is None:
                raise ConversionError(f'unexpected key {key!r}')
            groups.setdefault(m2.group(1), {})[f'raw.{m2.group(2)}'] = value
            continue
        groups.setdefault(m.group(1), {})[f'{m.group(2)}.{m.group(3)}'] = value
    return groups


def _fold(weight: Tensor, bn: Dict[str, Tensor], eps: float) -> Tuple[Tensor, Tensor]:
    scale = bn['bn.weight'] / torch.sqrt(bn['bn.running_var'] + eps)
    return weight * scale.reshape(-1, 1, 1, 1), bn['bn.bias'] - bn['bn.running_mean'] * scale


def convert_state_dict(source: Mapping[str, Tensor], model: torch.nn.Module, *,
                       num_keypoints: int, bn_eps: float = 1e-3) -> Dict[str, Tensor]:
    """Map an Ultralytics YOLOv8-pose state dict onto ``model`` (the project's P).

    Returns a state dict with exactly the keys of ``model.state_dict()``; buffers the source has no
    counterpart for (BN step counters, the OKS loss's sigmas) keep the model's values. Raises
    :class:`ConversionError` naming the first problem: a key that is not YOLOv8-pose's, a shape that
    differs (n weights for an s model), a keypoint count that differs, keys missing or left over.
    """
    target = model.state_dict()
    parameters = {name for name, _ in model.named_parameters()}
    source = {k: v for k, v in source.items() if not k.startswith(f'model.{HEAD_INDEX}.dfl.')}
    if not any(k.startswith(f'model.{HEAD_INDEX}.cv4.') for k in source):
        raise ConversionError('no keypoint branch (model.22.cv4): not a YOLOv8-pose state dict')
    renamed = {}
    for key, value in source.items():
        if not torch.is_tensor(value):
            raise ConversionError(f'{key!r} is not a tensor')
        if key.endswith('num_batches_tracked'):
            continue
        renamed[_rename(key)] = value.detach().float()

    out: Dict[str, Tensor] = {}
    for prefix, parts in _conv_groups(renamed).items():
        if prefix.startswith('head.kpt_vis_preds.'):
            level = prefix.rsplit('.', 1)[1]
            w, b = parts['raw.weight'], parts['raw.bias']
            if w.shape[0] != 3 * num_keypoints:
                raise ConversionError(f'the source predicts {w.shape[0] // 3} keypoints, the target '
                                      f'{num_keypoints}')
            xy = torch.tensor([i for i in range(w.shape[0]) if i % 3 != 2])
            out[f'head.kpt_preds.{level}.weight'], out[f'head.kpt_preds.{level}.bias'] = w[xy], b[xy]
            out[f'head.vis_preds.{level}.weight'] = w[2::3]
            out[f'head.vis_preds.{level}.bias'] = b[2::3]
            continue
        if 'raw.weight' in parts:  # a bare Conv2d (the branches' last 1×1 convs)
            out[f'{prefix}.weight'], out[f'{prefix}.bias'] = parts['raw.weight'], parts['raw.bias']
            continue
        weight = parts['conv.weight']
        target_has_bn = f'{prefix}.bn.running_mean' in target
        source_has_bn = 'bn.running_mean' in parts
        if source_has_bn and target_has_bn:
            out[f'{prefix}.conv.weight'] = weight
            out.update({f'{prefix}.bn.{f}': parts[f'bn.{f}'] for f in _BN_FIELDS})
        elif source_has_bn:
            out[f'{prefix}.conv.weight'], out[f'{prefix}.conv.bias'] = _fold(weight, parts, bn_eps)
        elif 'conv.bias' not in parts:
            raise ConversionError(f'{prefix}: a conv without bias and without batch norm')
        elif target_has_bn:  # fused source, BN target: BN as identity + the folded bias
            bias = parts['conv.bias']
            out[f'{prefix}.conv.weight'] = weight
            out[f'{prefix}.bn.weight'] = torch.ones_like(bias)
            out[f'{prefix}.bn.bias'] = bias
            out[f'{prefix}.bn.running_mean'] = torch.zeros_like(bias)
            out[f'{prefix}.bn.running_var'] = torch.full_like(bias, 1.0 - bn_eps)
        else:
            out[f'{prefix}.conv.weight'], out[f'{prefix}.conv.bias'] = weight, parts['conv.bias']

    for key, value in target.items():  # BN step counters and other buffers the source lacks
        if key not in out and key not in parameters and not key.endswith(('running_mean', 'running_var')):
            out[key] = value.clone()
    missing = sorted(set(target) - set(out))
    extra = sorted(set(out) - set(target))
    if missing:
        raise ConversionError(f'{len(missing)} target keys have no source weights, e.g. {missing[0]!r}'
                              ' (a config of another model size or layout?)')
    if extra:
        raise ConversionError(f'{len(extra)} source weights have no place in the target, e.g. '
                              f'{extra[0]!r}')
    for key, value in out.items():
        if tuple(value.shape) != tuple(target[key].shape):
            raise ConversionError(f'{key}: source shape {tuple(value.shape)} does not fit the target '
                                  f'{tuple(target[key].shape)} (n weights for an s config, or the '
                                  'reverse?)')
        out[key] = value.to(target[key].dtype)
    return out


def check_dfl(source: Mapping[str, Tensor], reg_max: int) -> None:
    """Ultralytics' DFL layer is a fixed 1×1 conv with weights 0..reg_max-1 (the head's ``proj`` buffer).

    INT8 exports quantise it too (``yolov8n-pose_fused_float.npz`` holds 0, 0.945, 2.008, …); up to
    0.1 off is accepted as quantisation, and the converted P uses the exact projection, as Ultralytics does.
    """
    w = source.get(f'model.{HEAD_INDEX}.dfl.conv.weight')
    if w is None:
        return
    w = w.flatten().float()
    if w.numel() != reg_max or (w - torch.arange(reg_max, dtype=torch.float)).abs().max() > 0.1:
        raise ConversionError(f'model.22.dfl is not the fixed 0..{reg_max - 1} projection')
