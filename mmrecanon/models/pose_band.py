"""The pose band: what G_X shows P in y' beyond A(x) (not in the paper).

With the carrier design (``models/utils/carrier.py``) y' = A(x) + a carrier scrambled over the detail bands,
so the frame P sees is A(x) plus white noise, and a P trained on y' cannot beat a P trained on A(x)
(results/people-mini.md). The paper's G_X is free to keep pose cues in y' (L_PE(y') trains it), and also
free to keep the face (dlib re-identifies 21 % of val faces on its y', against 5 % on A(x)).

The pose band puts back a bounded, unscrambled signal that only L_PE(y') asks for::

    y' = A(x) + carrier + B(x),   B(x) = up₂(b · tanh(W · F(down₂(x))))

* F is a small generator (a U-Net) on the original portrait at half its size (down₂: 2×2 block means),
  W a 1×1 convolution that starts near zero (N(0, σ²), σ = ``mix_std``; the band is then below one grey
  level, so a model trained without the band starts where it was), and b (``bound``) caps every band pixel;
  up₂ repeats each pixel over its 2×2 block. W must not start at exactly zero: F would get no gradient
  and W alone, a linear read-out of random features, did not move in 370 iterations (mean |W| 3e-4,
  mean |B| 6e-6 grey levels: a first run, killed at half time).
* So B lives in the Haar low band only: the detail bands, where the carrier is, stay as they were and
  the carrier still decodes; a low band is what survives the resize of a portrait into the frame P sees
  (the finest detail band does not); and F at half size costs a quarter of F at full size (measured:
  F at full size made a joint iteration 38 % slower).
* Nothing but L_PE(y') rewards the band; L_XY (the thresholded L1 to A(x)) charges it, and
  :class:`FaceSuppressionLoss` keeps it off the face (training knows where the face keypoints are; the
  band must learn to leave them alone), because the face is what re-identification reads.
* B is made for whole-person portraits, the view L_PE(y') trains it on. At the person's own resolution
  (``ReCanon(native_resolution=True)``) a tile shows a part of a person at the frame's scale, so tiles get no
  band of their own; B of each person's whole portrait is resampled onto the frame, made constant on the
  frame's 2×2 blocks again (the Haar low band of every tile) and added inside the person's region
  (``ReCanon.frame_band``). Measured through the inference API at full resolution
  (``tools/analysis/api_pose.py``, the 2026-12-03 band run's own P): P on y' 3.9 mAP@0.5 with a band per tile,
  7.3 with the person's band (resampled bilinearly then); recovery in the person boxes 27.03 → 26.96 dB
  (results/api-pose.md).
* G_Y gets y' with the band in it and learns to take it out (L_cons): the band is not keyed. L_cons and
  L_PE(x') do not reach the band (``ReCanon.translate`` detaches it on G_Y's side): in the first run they
  pulled it to zero on every batch, tiles included, against L_PE(y') on frames only.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmpose.registry import MODELS
from .utils.carrier import check_bound
from .utils.portrait import keypoints_to_portrait

# COCO-17 keypoints 0-4: nose, eyes, ears: where a face is
COCO_FACE_KEYPOINTS = (0, 1, 2, 3, 4)


def bounded_low_band(half: Tensor, bound: float) -> Tensor:
    """up₂(b · tanh(half)): an image at half the portrait size → the band, within ±b, constant on 2×2 blocks."""
    return F.interpolate(bound * torch.tanh(half), scale_factor=2, mode='nearest')


@MODELS.register_module()
class PoseBand(BaseModule):
    """B(x) of the module docstring: a bounded low-band image, near zero at initialisation.

    Args:
        generator (dict): F, a generator config with ``out_channels = features`` (e.g. ``UnetGenerator``;
            it sees portraits of half the portrait size).
        features (int): F's output channels, mixed by the 1×1 convolution W.
        bound (float): b, every band pixel is within ±b ([-1, 1] units).
        mix_std (float): σ of W's initial weights (bias 0); > 0, see the module docstring.
    """

    def __init__(self, generator: dict, features: int = 16, bound: float = 0.1, mix_std: float = 0.01,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.bound = check_bound(bound)
        generator = dict(generator)
        if generator.setdefault('out_channels', features) != features:
            raise ValueError(f"the band generator's out_channels ({generator['out_channels']}) must be "
                             f'features ({features})')
        self.features_net = MODELS.build(generator)
        self.mix = nn.Conv2d(features, 3, 1)
        if not float(mix_std) > 0:
            raise ValueError(f'mix_std must be > 0 (a zero W leaves F without gradient), got {mix_std!r}')
        self.mix_std = float(mix_std)
        self._init_mix()

    def _init_mix(self) -> None:
        nn.init.normal_(self.mix.weight, std=self.mix_std)
        nn.init.zeros_(self.mix.bias)

    def init_weights(self):
        super().init_weights()
        self._init_mix()  # after the generator's initialiser: the band starts near zero

    def forward(self, x: Tensor) -> Tensor:
        """Portraits x in [-1, 1] (N, 3, S, S), S even → B(x), same shape, constant on every 2×2 block."""
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f'the pose band needs portraits of even size, got {tuple(x.shape[-2:])}')
        return bounded_low_band(self.mix(self.features_net(F.avg_pool2d(x, 2))), self.bound)


@MODELS.register_module()
class TemplateBand(BaseModule):
    """The ablation of :class:`PoseBand`: one learned image, the same for every portrait (x is ignored).

    B = up₂(b · tanh(T)), T a (3, S/2, S/2) parameter starting at N(0, ``init_std``²). What P gains from it
    is what a fixed mark on every person gives, without anything about the person.

    Args:
        size (int): the portrait side S (even).
        bound (float): b, as in :class:`PoseBand`.
        init_std (float): σ of T's initial values (the band starts below a grey level).
    """

    def __init__(self, size: int = 128, bound: float = 0.2, init_std: float = 0.002, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if int(size) <= 0 or int(size) % 2:
            raise ValueError(f'size must be a positive even portrait side, got {size!r}')
        self.size, self.bound = int(size), check_bound(bound)
        self.template = nn.Parameter(torch.randn(1, 3, self.size // 2, self.size // 2) * float(init_std))

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[-2:]) != (self.size, self.size):
            raise ValueError(f'TemplateBand(size={self.size}) got portraits of {tuple(x.shape[-2:])}')
        return bounded_low_band(self.template, self.bound).expand(x.shape[0], -1, -1, -1)


@MODELS.register_module()
class FaceSuppressionLoss(nn.Module):
    """Mean B(x)² over each person's face disc, averaged over the people whose face is visible.

    Squared, not absolute: an L1 penalty has a gradient of one sign on every batch, which under Adam shrank
    the whole band (W is shared by every pixel) to 0.005 grey levels in 185 iterations while L_PE(y')'s
    gradient, whose sign varies, could not hold it up (a run killed at half time). The square acts only where
    the band is large.

    The face disc is centred on the mean of the visible face keypoints (COCO 0-4) with radius
    ``radius_scale`` × the largest distance between two of them, at least ``min_radius`` × the portrait
    side (one visible face keypoint gives the minimum). People without a visible face keypoint count
    nothing; with nobody the loss is 0 (and keeps the graph).

    Args:
        loss_weight (float): the term's weight (L_XY has 100; a band of 0.1 on the face costs 100 · 0.01 = 1).
        radius_scale (float): disc radius over the face keypoints' extent (1.0 covers forehead and chin).
        min_radius (float): smallest radius, a fraction of the portrait side.
    """

    def __init__(self, loss_weight: float = 100.0, radius_scale: float = 1.0, min_radius: float = 0.06):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.radius_scale = float(radius_scale)
        self.min_radius = float(min_radius)

    def face_masks(self, kpts: Tensor, visible: Tensor, size: int) -> Tensor:
        """(N, K, 2) portrait keypoints and (N, K) visibility → (N, 1, S, S) face discs (0/1) of COCO-17 people."""
        face = kpts[:, COCO_FACE_KEYPOINTS].float()
        seen = visible[:, COCO_FACE_KEYPOINTS] > 0
        n = kpts.shape[0]
        count = seen.sum(1).clamp_min(1)
        centre = (face * seen[..., None]).sum(1) / count[:, None]
        pair = (face[:, :, None] - face[:, None]).norm(dim=-1)
        pair = pair * (seen[:, :, None] & seen[:, None]).float()
        radius = (self.radius_scale * pair.flatten(1).max(1).values).clamp_min(self.min_radius * size)
        grid = torch.arange(size, dtype=face.dtype, device=face.device) + 0.5
        dy = grid.view(1, size, 1) - centre[:, 1].view(n, 1, 1)
        dx = grid.view(1, 1, size) - centre[:, 0].view(n, 1, 1)
        inside = (dx ** 2 + dy ** 2) <= radius.view(n, 1, 1) ** 2
        return (inside & seen.any(1).view(n, 1, 1)).unsqueeze(1).float()

    def forward(self, band: Tensor, kpts: Tensor, visible: Tensor) -> Tensor:
        if band.shape[0] != kpts.shape[0] or kpts.shape[0] != visible.shape[0]:
            raise ValueError(f'{band.shape[0]} bands for {kpts.shape[0]} keypoint sets / {visible.shape[0]} '
                             'visibilities')
        if kpts.shape[1] <= max(COCO_FACE_KEYPOINTS):
            raise ValueError(f'face suppression needs COCO-17 keypoints, got {kpts.shape[1]} per person')
        masks = self.face_masks(kpts, visible, band.shape[-1])
        area = masks.sum((1, 2, 3))
        has_face = area > 0
        if not bool(has_face.any()):
            return band.sum() * 0.0
        per_person = (band.pow(2).mean(1, keepdim=True) * masks).sum((1, 2, 3)) / area.clamp_min(1)
        return self.loss_weight * per_person[has_face].mean()


def portrait_keypoints(data_samples: Sequence, boxes: Sequence[Tensor], size: int):
    """Ground-truth keypoints of every portrait (frames' ``gt_instances``, in the order of ``boxes``) in
    portrait coordinates, and their visibility: ((N, K, 2), (N, K)); None where a frame has no keypoints."""
    pts, vis = [], []
    for ds, b in zip(data_samples, boxes):
        gt = ds.gt_instances
        if 'keypoints' not in gt or len(b) == 0:
            if len(b):
                return None
            continue
        k = torch.as_tensor(gt.keypoints, dtype=torch.float32, device=b.device).reshape(len(b), -1, 2)
        v = gt.get('keypoints_visible', torch.ones(k.shape[:2]))
        v = torch.as_tensor(v, dtype=torch.float32, device=b.device).reshape(k.shape[:2])
        pts.append(keypoints_to_portrait(k, b, size))
        vis.append(v)
    if not pts:
        return None
    return torch.cat(pts), torch.cat(vis)


__all__ = ['PoseBand', 'TemplateBand', 'FaceSuppressionLoss', 'portrait_keypoints', 'bounded_low_band',
           'COCO_FACE_KEYPOINTS']
