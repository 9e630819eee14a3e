"""Run any MMPose estimator P on full (privacy-enhanced / recovered) images, differentiably.

The joint model always works on whole frames (float NCHW in [0, 255], BGR, model-input space).
* ``pose_mode='bottomup'`` (the paper's YOLOv8-style P, RTMO, ...): P sees the whole frame; its targets
  come from the data pipeline (``GenerateTarget`` in ``gt_instance_labels``).
* ``pose_mode='topdown'`` (RTMPose): every person box is cropped from the frame with
  ``torchvision.ops.roi_align`` (differentiable w.r.t. the frame, so L_PE reaches G_X and G_Y) at P's input
  size, and the targets are encoded on the fly with P's own codec.
Predictions are returned in original-image space, exactly like ``BottomupPoseEstimator.predict``.
"""
from copy import deepcopy
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.registry import KEYPOINT_CODECS
from mmpose.structures import PoseDataSample
from torch import Tensor

from .utils.input_space import input_to_image_space
from .utils.portrait import crop_portraits

POSE_MODES = ('bottomup', 'topdown')


def normalize_for_pose(pose_estimator, imgs: Tensor, data_samples: Sequence, training: bool) -> Tensor:
    """Apply P's own ``data_preprocessor`` (BGR→RGB, mean/std) to float frames; keeps the graph."""
    data = pose_estimator.data_preprocessor({'inputs': imgs, 'data_samples': list(data_samples)}, training)
    return data['inputs']


def boxes_to_center_scale(bboxes: Tensor, input_size: Tuple[int, int], padding: float = 1.25):
    """xyxy boxes → (center, scale) with P's aspect ratio, as ``GetBBoxCenterScale`` + ``TopdownAffine``.

    mmpose's ``bbox_xyxy2cs`` and ``TopdownAffine._fix_aspect_ratio`` compute this in numpy, box by box; this
    is the same arithmetic on the frames' device, for a batch of tensors."""
    center = (bboxes[:, :2] + bboxes[:, 2:]) * 0.5
    wh = (bboxes[:, 2:] - bboxes[:, :2]).clamp(min=1.0) * padding
    aspect = input_size[0] / input_size[1]
    w = torch.maximum(wh[:, 0], wh[:, 1] * aspect)
    h = torch.maximum(wh[:, 1], wh[:, 0] / aspect)
    return center, torch.stack([w, h], dim=1)


def crop_center_scale(imgs: Tensor, centers: List[Tensor], scales: List[Tensor],
                      input_size: Tuple[int, int]) -> Tensor:
    """Crops of size ``input_size`` (w, h); outside the frame is 0 (P's normalisation pads the same way).

    The portraits' crop helper (``crop_portraits``) on the boxes centre ± scale / 2."""
    boxes = [torch.cat([c - 0.5 * s, c + 0.5 * s], dim=1) if len(c) else imgs.new_zeros((0, 4))
             for c, s in zip(centers, scales)]
    return crop_portraits(imgs, boxes, (input_size[1], input_size[0]), sampling_ratio=2)


class PoseAdapter:
    """Loss / predict of P on whole frames for either pose mode.

    Args:
        pose_estimator (nn.Module): the built MMPose estimator P.
        pose_mode (str): 'bottomup' or 'topdown'.
        codec (dict, optional): P's codec config, required for 'topdown' (targets are encoded on the fly).
        bbox_padding (float): top-down box padding (MMPose's ``GetBBoxCenterScale`` default 1.25).
    """

    def __init__(self, pose_estimator, pose_mode: str = 'bottomup', codec: Optional[dict] = None,
                 bbox_padding: float = 1.25) -> None:
        if pose_mode not in POSE_MODES:
            raise ValueError(f'pose_mode must be one of {POSE_MODES}, got {pose_mode!r}')
        self.pose_estimator = pose_estimator
        self.pose_mode = pose_mode
        self.bbox_padding = bbox_padding
        self.codec = None
        if pose_mode == 'topdown':
            if codec is None:
                raise ValueError("pose_mode='topdown' needs the pose codec (pose_codec=dict(type='SimCCLabel', ...))")
            self.codec = KEYPOINT_CODECS.build(codec)
            self.input_size = tuple(codec['input_size'])

    # ------------------------------------------------------------------ top-down helpers
    def _topdown_batch(self, imgs: Tensor, boxes: List[Tensor], data_samples: Sequence,
                       keypoints: Optional[List[Tensor]] = None,
                       visible: Optional[List[Tensor]] = None):
        centers, scales = zip(*[boxes_to_center_scale(b.to(imgs), self.input_size, self.bbox_padding)
                                for b in boxes]) if boxes else ((), ())
        crops = crop_center_scale(imgs, list(centers), list(scales), self.input_size)
        samples = []
        for i, ds in enumerate(data_samples):
            for j in range(len(boxes[i])):
                c = centers[i][j].detach().cpu().numpy()[None]
                s = scales[i][j].detach().cpu().numpy()[None]
                meta = dict(input_size=self.input_size, input_center=c[0], input_scale=s[0],
                            flip_indices=ds.metainfo.get('flip_indices'), parent=i)
                sample = PoseDataSample(metainfo=meta)
                sample.gt_instances = InstanceData(
                    bboxes=boxes[i][j:j + 1].detach().cpu().numpy(), bbox_centers=c, bbox_scales=s,
                    bbox_scores=np.ones(1, np.float32))
                if keypoints is not None:
                    kpt = keypoints[i][j:j + 1].detach().cpu().numpy()
                    kpt = (kpt - (c - 0.5 * s)[:, None]) / s[:, None] * np.asarray(self.input_size)
                    vis = visible[i][j:j + 1].detach().cpu().numpy()
                    enc = self.codec.encode(kpt, vis)
                    sample.gt_instance_labels = InstanceData(
                        **{k: torch.as_tensor(v, device=imgs.device) for k, v in enc.items()
                           if k.startswith('keypoint') or k.startswith('heatmap')})
                samples.append(sample)
        return crops, samples

    # ------------------------------------------------------------------ public API
    def loss(self, imgs: Tensor, data_samples: Sequence) -> dict:
        """P's loss dict (eq. 10 / 11) on frames ``imgs`` with the ground truth of ``data_samples``."""
        pose = self.pose_estimator
        if self.pose_mode == 'bottomup':
            return pose.loss(normalize_for_pose(pose, imgs, data_samples, True), list(data_samples))
        boxes = [ds.gt_instances.bboxes for ds in data_samples]
        boxes = [torch.as_tensor(b, dtype=imgs.dtype, device=imgs.device).reshape(-1, 4) for b in boxes]
        kpts = [torch.as_tensor(ds.gt_instances.keypoints, dtype=imgs.dtype) for ds in data_samples]
        vis = [torch.as_tensor(ds.gt_instances.keypoints_visible, dtype=imgs.dtype) for ds in data_samples]
        crops, samples = self._topdown_batch(imgs, boxes, data_samples, kpts, vis)
        if not samples:  # no person in the batch: a zero loss that keeps the graph
            return {'loss_kpt': imgs.sum() * 0.0}
        return pose.loss(normalize_for_pose(pose, crops, samples, True), samples)

    def features(self, imgs: Tensor) -> tuple:
        """P's feature maps (``extract_feat``: its neck's levels) of images ``imgs`` in [0, 255], whole: P's
        normalisation, no boxes (``PoseFeatureLoss`` compares portraits x' and x this way); keeps the graph."""
        pose = self.pose_estimator
        return tuple(pose.extract_feat(normalize_for_pose(pose, imgs, [], False)))

    @torch.no_grad()
    def predict(self, imgs: Tensor, data_samples: Sequence,
                boxes: Optional[List[Tensor]] = None) -> List[InstanceData]:
        """P's predictions per frame in original-image space.

        ``boxes`` (input space, one tensor per frame) are required for top-down P.
        """
        pose = self.pose_estimator
        samples = [ds.clone() if hasattr(ds, 'clone') else deepcopy(ds) for ds in data_samples]
        if self.pose_mode == 'bottomup':
            out = pose.predict(normalize_for_pose(pose, imgs, samples, False), samples)
            return [ds.pred_instances for ds in out]
        if boxes is None:
            raise ValueError('top-down P needs person boxes to predict')
        crops, crop_samples = self._topdown_batch(imgs, boxes, data_samples)
        per_frame: List[List[InstanceData]] = [[] for _ in data_samples]
        if crop_samples:
            out = pose.predict(normalize_for_pose(pose, crops, crop_samples, False), crop_samples)
            for cs in out:
                per_frame[cs.metainfo['parent']].append(cs.pred_instances)
        results = []
        for ds, preds in zip(data_samples, per_frame):
            inst = InstanceData.cat(preds) if preds else _empty_instances(pose)
            if len(inst) and 'input_center' in ds.metainfo:
                inst.keypoints = input_to_image_space(inst.keypoints, ds.metainfo)
                inst.bboxes = input_to_image_space(inst.bboxes.reshape(-1, 2, 2), ds.metainfo).reshape(-1, 4)
            results.append(inst)
        return results


def _empty_instances(pose_estimator) -> InstanceData:
    head = getattr(pose_estimator, 'head', None)
    k = getattr(head, 'num_keypoints', None) or getattr(head, 'out_channels', 17)
    return InstanceData(keypoints=np.zeros((0, k, 2), np.float32), keypoint_scores=np.zeros((0, k), np.float32),
                        keypoints_visible=np.zeros((0, k), np.float32), bboxes=np.zeros((0, 4), np.float32),
                        bbox_scores=np.zeros((0,), np.float32))
