"""Losses of the YOLOv8-style pose head (P): DFL, CIoU and OKS keypoint loss.

The arithmetic is upstream's: mmdet's ``distribution_focal_loss`` and ``weight_reduce_loss``, torchvision's
``complete_box_iou_loss``, mmpose's ``OKSLoss``. These classes add what YOLOv8's head needs around them
(per-box sides, per-instance weights with an ``avg_factor``, explicit sigmas, shape checks).
"""
import os.path as osp
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from torchvision.ops import complete_box_iou_loss

import mmpose
from mmdet.models.losses.gfocal_loss import distribution_focal_loss
from mmdet.models.losses.utils import weight_reduce_loss
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.models.losses import OKSLoss
from mmpose.registry import MODELS

# MMPose dataset metainfo files holding the per-keypoint OKS sigmas, chosen by keypoint count when
# no ``metainfo``/``sigmas`` is given (17 = COCO body, 16 = MPII).
DEFAULT_METAINFO = {
    17: 'configs/_base_/datasets/coco.py',
    16: 'configs/_base_/datasets/mpii.py',
}


def _resolve_metainfo(path: str) -> str:
    """Relative metainfo paths name files of the installed mmpose (``mmpose/.mim/``) first,
    so a same-named file in the working directory cannot shadow them."""
    if not osp.isabs(path):
        packaged = osp.join(osp.dirname(mmpose.__file__), '.mim', path)
        if osp.isfile(packaged):
            return packaged
    if not osp.isfile(path):
        raise ValueError(f'metainfo file not found: {path}')
    return path


def load_sigmas(num_keypoints: Optional[int] = None,
                metainfo: Optional[str] = None,
                sigmas: Optional[Sequence[float]] = None) -> torch.Tensor:
    """Per-keypoint OKS sigmas from explicit values, an MMPose metainfo file, or the default
    metainfo for ``num_keypoints`` (17 -> COCO, 16 -> MPII)."""
    if sigmas is None:
        if metainfo is None:
            if num_keypoints not in DEFAULT_METAINFO:
                raise ValueError(f'no default OKS sigmas for num_keypoints={num_keypoints}; '
                                 f'pass metainfo= or sigmas=')
            metainfo = DEFAULT_METAINFO[num_keypoints]
        sigmas = parse_pose_metainfo(dict(from_file=_resolve_metainfo(metainfo))).get('sigmas')
        if sigmas is None or len(sigmas) == 0:
            raise ValueError(f'metainfo {metainfo} defines no OKS sigmas')
    sigmas = torch.as_tensor(sigmas, dtype=torch.float32).flatten()
    if num_keypoints is not None and sigmas.numel() != num_keypoints:
        raise ValueError(f'got {sigmas.numel()} OKS sigmas for {num_keypoints} keypoints')
    return sigmas


def _reduce(loss: torch.Tensor, weight: Optional[torch.Tensor], reduction: str,
            avg_factor: Optional[Union[float, torch.Tensor]]) -> torch.Tensor:
    """Weight a per-sample loss and reduce it: mmdet's ``weight_reduce_loss`` ('mean' divides by ``avg_factor``
    when given); 'sum' ignores ``avg_factor`` (mmdet refuses the pair) so that a config may switch freely."""
    return weight_reduce_loss(loss, weight, reduction, None if reduction == 'sum' else avg_factor)


def _check_reduction(reduction: str):
    if reduction not in ('mean', 'sum', 'none'):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


@MODELS.register_module()
class DFLoss(nn.Module):
    """Distribution focal loss (Li et al., GFL, 2020) for box sides regressed as a distribution.

    Each box side (left, top, right, bottom distance, in stride units) is predicted as logits over
    ``reg_max`` bins 0..reg_max-1. For a continuous target ``t`` between bins ``i = floor(t)`` and
    ``i + 1`` the loss is ``CE(logits, i) * (i + 1 - t) + CE(logits, i + 1) * (t - i)``, averaged
    over the four sides of a box.

    Args:
        reg_max (int): Number of bins (16, as in YOLOv8).
        reduction (str): 'mean' | 'sum' | 'none' over boxes.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, reg_max: int = 16, reduction: str = 'mean', loss_weight: float = 1.0):
        super().__init__()
        _check_reduction(reduction)
        if reg_max < 2:
            raise ValueError(f'reg_max must be >= 2, got {reg_max}')
        self.reg_max = reg_max
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[Union[float, torch.Tensor]] = None) -> torch.Tensor:
        """
        Args:
            pred (Tensor): Logits, shape (M, 4, reg_max) or (M, 4 * reg_max).
            target (Tensor): Side distances in bin units, shape (M, 4); clamped to
                [0, reg_max - 1 - 0.01] so the right bin exists.
            weight (Tensor, optional): Per-box weight, shape (M,).
            avg_factor (float, optional): Denominator of the 'mean' reduction.
        Returns:
            Tensor: Scalar loss (or (M,) with reduction='none').
        """
        if pred.shape[-1] != self.reg_max and pred.shape[-1] != 4 * self.reg_max:
            raise ValueError(f'DFLoss expects pred (M, 4, {self.reg_max}) or '
                             f'(M, {4 * self.reg_max}), got {tuple(pred.shape)}')
        pred = pred.reshape(-1, 4, self.reg_max)
        if target.shape != pred.shape[:2]:
            raise ValueError(f'DFLoss target must have shape {tuple(pred.shape[:2])}, '
                             f'got {tuple(target.shape)}')
        target = target.clamp(0, self.reg_max - 1 - 0.01)
        # per side: mmdet's GFL loss; what is YOLOv8's is the clamp above and the mean over the 4 sides
        per_side = distribution_focal_loss(pred.reshape(-1, self.reg_max), target.reshape(-1), reduction='none')
        loss = per_side.view_as(target).mean(-1)
        return _reduce(loss, weight, self.reduction, avg_factor) * self.loss_weight


@MODELS.register_module()
class CIoULoss(nn.Module):
    """Complete-IoU box loss ``1 - CIoU`` (Zheng et al., 2020), computed by
    :func:`torchvision.ops.complete_box_iou_loss` on aligned (x1, y1, x2, y2) boxes.

    Args:
        reduction (str): 'mean' | 'sum' | 'none' over boxes.
        eps (float): Numerical epsilon passed to torchvision.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, reduction: str = 'mean', eps: float = 1e-7, loss_weight: float = 1.0):
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[Union[float, torch.Tensor]] = None) -> torch.Tensor:
        if pred.shape != target.shape or pred.shape[-1] != 4:
            raise ValueError(f'CIoULoss expects two (M, 4) xyxy tensors, got '
                             f'{tuple(pred.shape)} and {tuple(target.shape)}')
        loss = complete_box_iou_loss(pred, target, reduction='none', eps=self.eps)
        return _reduce(loss, weight, self.reduction, avg_factor) * self.loss_weight


@MODELS.register_module()
class OKSKeypointLoss(nn.Module):
    """Keypoint loss ``1 - OKS`` (YOLO-Pose, Maji et al., 2022) with COCO's OKS definition.

    For an instance with object area ``s`` (COCO segment area, in the same pixel space as the
    keypoints) and per-keypoint sigma ``sigma_k``:
    ``oks_k = exp(-d_k^2 / (2 * s * (2 * sigma_k)^2))`` and
    ``loss = 1 - sum_k(v_k * oks_k) / sum_k(v_k)`` over the labelled keypoints (``v_k`` > 0);
    instances without labelled keypoints contribute 0.

    Args:
        num_keypoints (int, optional): K; used to pick default sigmas (17 -> COCO, 16 -> MPII)
            and to validate them.
        metainfo (str, optional): MMPose dataset metainfo file with ``sigmas``, e.g.
            'configs/_base_/datasets/coco.py' (resolved inside the installed mmpose).
        sigmas (Sequence[float], optional): Explicit sigmas (take precedence over metainfo).
        reduction (str): 'mean' | 'sum' | 'none' over instances.
        eps (float): Guards against zero areas / zero visible counts.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self,
                 num_keypoints: Optional[int] = None,
                 metainfo: Optional[str] = None,
                 sigmas: Optional[Sequence[float]] = None,
                 reduction: str = 'mean',
                 eps: float = 1e-9,
                 loss_weight: float = 1.0):
        super().__init__()
        _check_reduction(reduction)
        # mmpose's OKSLoss computes the OKS (its per-keypoint weights normalised over the labelled ones); it
        # knows neither explicit sigmas nor per-instance weights, an avg_factor or keypoint-less instances
        # counting 0, which YOLOv8's loss needs: those are added here.
        self._oks_loss = OKSLoss(reduction='none', eps=eps, norm_target_weight=True)
        self.register_buffer('sigmas', load_sigmas(num_keypoints, metainfo, sigmas))  # ours: the checkpoint key
        self.reduction = reduction
        self.loss_weight = loss_weight

    def oks(self, pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor,
            areas: torch.Tensor) -> torch.Tensor:
        """Per-instance OKS (N,) over labelled keypoints (mmpose's ``OKSLoss``: 1 − its linear loss)."""
        k = self.sigmas.numel()
        if pred.shape[-2:] != (k, 2) or target.shape != pred.shape:
            raise ValueError(f'OKSKeypointLoss expects pred/target of shape (N, {k}, 2), got '
                             f'{tuple(pred.shape)} and {tuple(target.shape)}')
        if visible.shape != pred.shape[:-1] or areas.shape != pred.shape[:1]:
            raise ValueError(f'visible must be (N, {k}) and areas (N,), got '
                             f'{tuple(visible.shape)} and {tuple(areas.shape)}')
        self._oks_loss.sigmas = self.sigmas  # a plain attribute there (not its buffer): follows our device
        return 1 - self._oks_loss(pred, target, (visible > 0).to(pred.dtype), areas)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor,
                areas: torch.Tensor, weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[Union[float, torch.Tensor]] = None) -> torch.Tensor:
        """
        Args:
            pred, target (Tensor): Keypoints (N, K, 2).
            visible (Tensor): Labelled-keypoint mask / visibility (N, K); > 0 counts.
            areas (Tensor): Instance areas (N,).
            weight (Tensor, optional): Per-instance weight (N,).
        """
        has_kpt = (visible > 0).any(-1).to(pred.dtype)
        loss = (1 - self.oks(pred, target, visible, areas)) * has_kpt
        return _reduce(loss, weight, self.reduction, avg_factor) * self.loss_weight
