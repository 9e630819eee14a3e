"""PCKh for a one-stage (multi-person) pose estimator P: match, then score."""
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmpose.evaluation.functional import keypoint_pck_accuracy
from mmpose.evaluation.functional.nms import oks_iou
from mmpose.evaluation.metrics import MpiiPCKAccuracy
from mmpose.registry import METRICS
from mmpose.structures.bbox import bbox_overlaps
from ._utils import as_dict, to_numpy


@METRICS.register_module()
class MatchedPCKhMetric(BaseMetric):
    """PCKh@thr of a bottom-up / one-stage P against all GT persons.

    MMPose's :class:`MpiiPCKAccuracy` assumes one prediction per GT person
    (top-down). A one-stage P predicts an unordered set of people, so each
    image is first matched:

    1. Similarity of every (GT, prediction) pair: OKS (default) computed with
       mmpose's ``oks_iou`` over the GT-visible joints, using the dataset's
       ``sigmas`` and the area of the tight box around the visible GT joints
       as the OKS scale (the loose MPII centre/scale boxes would make OKS
       too lenient); or box IoU (``match_by='bbox_iou'``, mmpose's
       ``bbox_overlaps`` of GT vs. predicted ``bboxes``).
    2. Greedy one-to-one matching: repeatedly take the pair with the highest
       similarity among unmatched GTs and predictions, while it is above
       ``min_similarity``.
    3. Matched GTs are scored with the matched keypoints; unmatched GTs count
       as *all keypoints wrong*; unmatched predictions are ignored (PCKh has
       no false-positive term).

    Scoring reuses MMPose: with 16 keypoints (MPII layout) the statistics of
    :class:`MpiiPCKAccuracy` (joint-count weighted mean without pelvis and
    thorax, per body part, ``PCKh@0.1``); otherwise ``keypoint_pck_accuracy``
    with the head-size normaliser. All values are percentages.

    Head size: ``gt_instances.head_size`` (MpiiDataset with ``headbox_file``:
    0.6 x head-box diagonal) when present. Otherwise it falls back to
    ``head_size_scale`` x the distance between the GT keypoints
    ``head_size_keypoints`` (default MPII upper_neck=8 and head_top=9, scale
    1.0: the head segment length, the usual approximation when no head boxes
    are available); a GT person whose fallback head size is 0 (a head joint
    not visible) is left out of the evaluation.

    Output keys: ``PCKh`` (at ``thr``), for MPII also ``PCKh@0.1`` and
    ``Head PCKh`` ... ``Ankle PCKh``, plus ``num_gt_persons`` and
    ``num_matched`` (default prefix ``pckh``).

    Args:
        thr (float): PCKh threshold (fraction of the head size). Defaults to 0.5.
        match_by (str): ``'oks'`` or ``'bbox_iou'``. Defaults to ``'oks'``.
        min_similarity (float): A pair is matched only if its similarity is
            above this value. Defaults to 0 (any overlap).
        head_size_keypoints (tuple[int, int]): GT keypoint indices for the
            head-size fallback. Defaults to (8, 9) (MPII neck, head top).
        head_size_scale (float): Factor of the fallback head size. Defaults to 1.0.
        pred_offset (float): Added to predicted coordinates before scoring.
            MMPose's ``MpiiPCKAccuracy`` adds 1.0 (MATLAB 1-based GT), but
            MpiiDataset keeps the raw 1-based joints as training targets, so a
            P trained on them already predicts in that frame: default 0.0.
        collect_device (str): See :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): Defaults to ``'pckh'``.
    """
    default_prefix: Optional[str] = 'pckh'

    # fallback OKS sigma when dataset_meta has no matching ``sigmas``; it only
    # changes how soft the matching similarity is, not the PCKh scoring
    DEFAULT_SIGMA = 0.1

    def __init__(self,
                 thr: float = 0.5,
                 match_by: str = 'oks',
                 min_similarity: float = 0.0,
                 head_size_keypoints: Tuple[int, int] = (8, 9),
                 head_size_scale: float = 1.0,
                 pred_offset: float = 0.0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if match_by not in ('oks', 'bbox_iou'):
            raise ValueError(f"match_by must be 'oks' or 'bbox_iou', got {match_by!r}")
        if not thr > 0:
            raise ValueError(f'thr must be positive, got {thr!r}')
        if len(head_size_keypoints) != 2:
            raise ValueError('head_size_keypoints must be two keypoint indices, '
                             f'got {head_size_keypoints!r}')
        self.thr = float(thr)
        self.match_by = match_by
        self.min_similarity = float(min_similarity)
        self.head_size_keypoints = tuple(int(i) for i in head_size_keypoints)
        self.head_size_scale = float(head_size_scale)
        self.pred_offset = float(pred_offset)

    # ------------------------------------------------------------------ matching
    def _sigmas(self, num_keypoints: int) -> np.ndarray:
        sigmas = (self.dataset_meta or {}).get('sigmas')
        if sigmas is not None and len(sigmas) == num_keypoints:
            return np.asarray(sigmas, dtype=np.float64)
        return np.full(num_keypoints, self.DEFAULT_SIGMA)

    def similarity(self, gt: dict, pred: dict) -> np.ndarray:
        """(G, P) similarity matrix of GT persons vs. predictions."""
        gt_kpts = to_numpy(gt['keypoints']).astype(np.float64)
        pred_kpts = to_numpy(pred['keypoints']).astype(np.float64)
        num_gt, num_pred = len(gt_kpts), len(pred_kpts)
        if num_gt == 0 or num_pred == 0:
            return np.zeros((num_gt, num_pred))
        if self.match_by == 'bbox_iou':
            if 'bboxes' not in gt or 'bboxes' not in pred:
                raise ValueError("match_by='bbox_iou' needs 'bboxes' in gt_instances and "
                                 'pred_instances')
            ious = bbox_overlaps(
                torch.as_tensor(to_numpy(gt['bboxes']), dtype=torch.float64).reshape(-1, 4),
                torch.as_tensor(to_numpy(pred['bboxes']), dtype=torch.float64).reshape(-1, 4))
            return ious.numpy()
        visible = self._visible(gt)
        sigmas = self._sigmas(gt_kpts.shape[1])
        # predictions count as visible everywhere: only the GT visibility selects joints
        pred_flat = np.concatenate([pred_kpts, np.ones(pred_kpts.shape[:2] + (1, ))],
                                   axis=-1).reshape(num_pred, -1)
        sims = np.zeros((num_gt, num_pred))
        for g in range(num_gt):
            if not visible[g].any():
                continue
            vis_pts = gt_kpts[g][visible[g]]
            extent = vis_pts.max(0) - vis_pts.min(0)
            area = max(float(extent[0] * extent[1]), 1.0)
            g_flat = np.concatenate([gt_kpts[g], visible[g][:, None].astype(np.float64)],
                                    axis=-1).reshape(-1)
            sims[g] = oks_iou(g_flat, pred_flat, area, np.full(num_pred, area), sigmas,
                              vis_thr=0.5)
        return sims

    def match(self, similarity: np.ndarray) -> np.ndarray:
        """Greedy one-to-one matching; returns the prediction index per GT (-1: none)."""
        sims = np.array(similarity, dtype=np.float64, copy=True)
        matches = np.full(sims.shape[0], -1, dtype=np.int64)
        while sims.size:
            g, p = np.unravel_index(np.argmax(sims), sims.shape)
            if not sims[g, p] > self.min_similarity:
                break
            matches[g] = p
            sims[g, :] = -np.inf
            sims[:, p] = -np.inf
        return matches

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _visible(gt: dict) -> np.ndarray:
        kpts = to_numpy(gt['keypoints'])
        if 'keypoints_visible' not in gt:
            return np.ones(kpts.shape[:2], dtype=bool)
        vis = to_numpy(gt['keypoints_visible'])
        if vis.ndim == 3:
            vis = vis[..., 0]
        return vis.reshape(kpts.shape[:2]) > 0

    def _head_size(self, gt: dict) -> np.ndarray:
        kpts = to_numpy(gt['keypoints']).astype(np.float64)
        if gt.get('head_size') is not None:
            head = to_numpy(gt['head_size']).astype(np.float64).reshape(-1)
            if head.shape[0] != kpts.shape[0]:
                raise ValueError(f'gt_instances.head_size has {head.shape[0]} values for '
                                 f'{kpts.shape[0]} persons')
            return head
        i, j = self.head_size_keypoints
        if max(i, j) >= kpts.shape[1]:
            raise ValueError(f'head_size_keypoints {self.head_size_keypoints} out of range for '
                             f'{kpts.shape[1]} keypoints and no gt_instances.head_size given')
        visible = self._visible(gt)
        head = np.linalg.norm(kpts[:, i] - kpts[:, j], axis=-1) * self.head_size_scale
        return np.where(visible[:, i] & visible[:, j], head, 0.0)

    # ------------------------------------------------------------------ metric API
    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Match the predictions of each image to its GT persons."""
        for data_sample in data_samples:
            data_sample = as_dict(data_sample)
            gt = as_dict(data_sample.get('gt_instances'))
            pred = as_dict(data_sample.get('pred_instances'))
            if gt is None or 'keypoints' not in gt:
                raise ValueError('MatchedPCKhMetric needs gt_instances.keypoints in the data '
                                 'samples')
            if pred is None or 'keypoints' not in pred:
                raise ValueError('MatchedPCKhMetric needs pred_instances.keypoints in the data '
                                 'samples')
            gt_kpts = to_numpy(gt['keypoints']).astype(np.float64)
            if gt_kpts.ndim != 3:
                raise ValueError(f'gt_instances.keypoints must be (N, K, 2), got {gt_kpts.shape}')
            num_gt, num_kpts = gt_kpts.shape[:2]
            pred_kpts = to_numpy(pred['keypoints']).astype(np.float64).reshape(-1, num_kpts, 2)

            matches = self.match(self.similarity(gt, dict(pred, keypoints=pred_kpts)))
            # unmatched GT persons: infinitely far prediction -> every joint wrong
            matched_kpts = np.full((num_gt, num_kpts, 2), np.inf)
            has_match = matches >= 0
            matched_kpts[has_match] = pred_kpts[matches[has_match]] + self.pred_offset

            head_size = self._head_size(gt)
            mask = self._visible(gt) & (head_size > 0)[:, None]
            self.results.append({
                'pred_coords': matched_kpts,
                'gt_coords': gt_kpts[..., :2],
                'mask': mask,
                'head_size': np.repeat(head_size[:, None], 2, axis=1),
                'num_gt': int((head_size > 0).sum()),
                'num_matched': int((has_match & (head_size > 0)).sum()),
            })

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """PCKh over all GT persons of the dataset (percentages)."""
        logger = MMLogger.get_current_instance()
        results = [r for r in results if len(r['gt_coords'])]
        metrics = OrderedDict()
        num_gt = sum(r['num_gt'] for r in results)
        if num_gt == 0:
            logger.warning('MatchedPCKhMetric: no ground-truth person with a valid head size')
            return OrderedDict(num_gt_persons=0, num_matched=0)
        num_kpts = results[0]['gt_coords'].shape[1]
        if num_kpts == 16:
            # MPII layout: MMPose's statistics. MpiiPCKAccuracy adds +1 (MATLAB
            # index) to the predictions; ``pred_offset`` was applied already.
            mpii = MpiiPCKAccuracy(thr=self.thr, norm_item='head', prefix='pckh')
            shifted = [dict(r, pred_coords=r['pred_coords'] - 1.0) for r in results]
            for key, value in mpii.compute_metrics(shifted).items():
                if key == 'PCK':
                    key = 'PCKh'
                elif key == 'PCK@0.1':
                    key = 'PCKh@0.1'
                else:
                    key = key.replace('PCK', 'PCKh')
                metrics[key] = float(value)
        else:
            pred = np.concatenate([r['pred_coords'] for r in results])
            gt = np.concatenate([r['gt_coords'] for r in results])
            mask = np.concatenate([r['mask'] for r in results])
            head = np.concatenate([r['head_size'] for r in results])
            _, pckh, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, head)
            metrics['PCKh'] = 100.0 * float(pckh)
        metrics['num_gt_persons'] = int(num_gt)
        metrics['num_matched'] = int(sum(r['num_matched'] for r in results))
        return metrics
