"""Task-aligned label assignment (TOOD, Feng et al., 2021) for the YOLOv8-style pose head.

Not mmdet's ``TaskAlignedAssigner``: that one assigns image by image and returns an ``AssignResult``
without YOLOv8's normalised soft class targets (t / max t · max IoU per gt); this one is YOLOv8's, batched.
IoUs come from mmdet's ``bbox_overlaps``.
"""
from typing import Dict

import torch
from mmdet.structures.bbox import bbox_overlaps

from mmpose.registry import TASK_UTILS


@TASK_UTILS.register_module()
class TaskAlignedAssigner:
    """Assign ground-truth instances to anchor points by the task-alignment metric
    ``t = s^alpha * u^beta`` (s: predicted score of the gt's class, u: IoU of the predicted box
    with the gt box).

    For each gt, the ``topk`` anchor points with the largest ``t`` among those whose centre lies
    inside the gt box become positives. An anchor claimed by several gts keeps the gt with the
    highest IoU. The soft classification target of a positive is
    ``t / max_t(gt) * max_u(gt)`` (max over the gt's positives), i.e. the IoU-aware score
    used by YOLOv8.

    Args:
        topk (int): Positives per gt (10, as in YOLOv8).
        alpha (float): Exponent of the class score (0.5, as in YOLOv8).
        beta (float): Exponent of the IoU (6.0, as in YOLOv8).
        eps (float): Tolerance for "inside the box" and for the normalisation.
    """

    def __init__(self, topk: int = 10, alpha: float = 0.5, beta: float = 6.0,
                 eps: float = 1e-9):
        if topk < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        self.topk = topk
        self.alpha = alpha
        self.beta = beta
        self.eps = eps

    @torch.no_grad()
    def assign(self, pred_scores: torch.Tensor, pred_bboxes: torch.Tensor,
               anchor_points: torch.Tensor, gt_labels: torch.Tensor,
               gt_bboxes: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Assign one image.

        Args:
            pred_scores (Tensor): Sigmoid class scores (N, C).
            pred_bboxes (Tensor): Decoded boxes (N, 4), xyxy.
            anchor_points (Tensor): Anchor centres (N, 2), xy.
            gt_labels (Tensor): Gt labels (G,), in [0, C).
            gt_bboxes (Tensor): Gt boxes (G, 4), xyxy.

        Returns:
            dict with
                - ``gt_inds`` (N,) long: 1-based index of the assigned gt, 0 = background;
                - ``fg_mask`` (N,) bool;
                - ``labels`` (N,) long: assigned label (``C`` for background);
                - ``bboxes`` (N, 4): assigned gt box (zeros for background);
                - ``scores`` (N, C): soft classification targets;
                - ``align_metric`` (G, N): ``t`` for anchors inside each gt (0 elsewhere);
                - ``overlaps`` (G, N): IoU of each prediction with each gt.
        """
        num_anchors, num_classes = pred_scores.shape
        num_gts = gt_bboxes.size(0)
        if pred_bboxes.shape != (num_anchors, 4) or anchor_points.shape != (num_anchors, 2):
            raise ValueError(f'pred_bboxes must be ({num_anchors}, 4) and anchor_points '
                             f'({num_anchors}, 2), got {tuple(pred_bboxes.shape)} and '
                             f'{tuple(anchor_points.shape)}')
        if gt_bboxes.shape != (num_gts, 4) or gt_labels.shape != (num_gts,):
            raise ValueError(f'gt_bboxes must be (G, 4) and gt_labels (G,), got '
                             f'{tuple(gt_bboxes.shape)} and {tuple(gt_labels.shape)}')
        device = pred_scores.device
        gt_labels = gt_labels.long()
        if num_gts > 0 and (gt_labels.min() < 0 or gt_labels.max() >= num_classes):
            raise ValueError(f'gt_labels must lie in [0, {num_classes}), got '
                             f'{gt_labels.tolist()}')
        result = dict(
            gt_inds=torch.zeros(num_anchors, dtype=torch.long, device=device),
            fg_mask=torch.zeros(num_anchors, dtype=torch.bool, device=device),
            labels=torch.full((num_anchors,), num_classes, dtype=torch.long, device=device),
            bboxes=pred_bboxes.new_zeros((num_anchors, 4)),
            scores=pred_scores.new_zeros((num_anchors, num_classes)),
            align_metric=pred_scores.new_zeros((num_gts, num_anchors)),
            overlaps=pred_scores.new_zeros((num_gts, num_anchors)))
        if num_gts == 0 or num_anchors == 0:
            return result

        # candidates: anchor centres strictly inside the gt box
        lt = anchor_points[None] - gt_bboxes[:, None, :2]
        rb = gt_bboxes[:, None, 2:] - anchor_points[None]
        in_gts = torch.cat([lt, rb], dim=-1).amin(-1) > self.eps  # (G, N)

        overlaps = bbox_overlaps(gt_bboxes, pred_bboxes).clamp(min=0)  # (G, N)
        cls_scores = pred_scores[:, gt_labels].t()  # (G, N)
        align_metric = cls_scores.pow(self.alpha) * overlaps.pow(self.beta) * in_gts
        full_metric = align_metric

        # top-k candidates per gt (ties and zero metrics are removed by the in_gts mask)
        k = min(self.topk, num_anchors)
        # rank in-box anchors first (metric >= 0 > -1) so that zero-metric candidates inside the
        # box still win over anchors outside it
        ranked = torch.where(in_gts, align_metric, align_metric.new_full((), -1.0))
        topk_idx = ranked.topk(k, dim=1).indices
        is_pos = torch.zeros_like(in_gts)
        is_pos.scatter_(1, topk_idx, True)
        is_pos &= in_gts

        # anchors claimed by several gts keep the claiming gt with the highest IoU
        multi = is_pos.sum(0) > 1
        if multi.any():
            best = torch.where(is_pos, overlaps, overlaps.new_full((), -1.0)).argmax(0)
            best_mask = torch.zeros_like(is_pos)
            best_mask[best, torch.arange(num_anchors, device=device)] = True
            is_pos = torch.where(multi[None], best_mask, is_pos)

        fg_mask = is_pos.any(0)
        gt_idx = is_pos.float().argmax(0)  # (N,), meaningful where fg_mask
        align_metric = align_metric * is_pos
        pos_overlaps = overlaps * is_pos
        # normalise so that the best-aligned positive of each gt gets that gt's max IoU
        norm = (align_metric * pos_overlaps.amax(1, keepdim=True) /
                (align_metric.amax(1, keepdim=True) + self.eps)).amax(0)  # (N,)

        labels = gt_labels[gt_idx]
        scores = torch.zeros_like(pred_scores)
        scores[fg_mask, labels[fg_mask]] = norm[fg_mask]
        result.update(
            gt_inds=torch.where(fg_mask, gt_idx + 1, torch.zeros_like(gt_idx)),
            fg_mask=fg_mask,
            labels=torch.where(fg_mask, labels, torch.full_like(labels, num_classes)),
            bboxes=torch.where(fg_mask[:, None], gt_bboxes[gt_idx], pred_bboxes.new_zeros(())),
            scores=scores,
            align_metric=full_metric,
            overlaps=overlaps)
        return result
