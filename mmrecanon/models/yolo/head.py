"""YOLOv8-style one-stage pose head for the pose estimator P (an MMPose head used inside
:class:`mmpose.models.BottomupPoseEstimator`).

Outputs, per anchor point (cell centre of each stride-8/16/32 feature map):

* class logit (1 class: person);
* box as four side distances (left, top, right, bottom) from the anchor, each a distribution over
  ``reg_max`` bins (distribution focal loss); distance = sum_i i * softmax(logits)_i strides;
* K keypoints ``(x, y) = anchor - stride / 2 + 2 * stride * offset`` (YOLOv8's decoding);
* K keypoint-visibility logits.

Training targets come from MMPose's ``GenerateTarget(encoder=dict(type=
'YOLOXPoseAnnotationProcessor', ...))`` (``gt_instance_labels``: bboxes xyxy, labels, keypoints,
keypoints_visible, areas in model-input space), assigned with :class:`TaskAlignedAssigner`.

Export: :meth:`YOLOv8PoseHead.predict_raw` is a pure tensor function (no data-dependent Python
control flow, no NMS) that returns ``dets`` (B, N, 5: x1, y1, x2, y2, score) and ``keypoints``
(B, N, K, 3: x, y, visibility score) for all N anchors in input space; the MMDeploy rewriter in
``mmrecanon/deploy`` maps ``YOLOv8PoseHead.forward`` to it (optionally followed by MMDeploy's
ONNX NMS).
"""
import copy
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmcv.ops import batched_nms
from mmengine.structures import InstanceData
from torch import Tensor

from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import MODELS, TASK_UTILS
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from ...compat import library_notices_off
from .backbone import DEFAULT_ACT, DEFAULT_NORM, make_divisible

# Default test-time settings (overridden by the head's ``test_cfg`` and then by the estimator's).
DEFAULT_TEST_CFG = dict(
    score_thr=0.01,   # low threshold: COCO AP integrates over all scores
    nms_pre=1000,     # candidates kept (by score) before NMS
    nms_thr=0.65,     # box-IoU NMS threshold (YOLOv8 uses 0.7, RTMO 0.65)
    max_per_img=100,  # detections kept after NMS (COCO keypoint eval uses up to 20)
)


@MODELS.register_module()
class YOLOv8PoseHead(BaseHead):
    """Decoupled YOLOv8 pose head: per stride, three branches of two 3x3 ConvModules followed by
    a 1x1 conv (class score; box DFL logits; keypoint offsets + visibility logits).

    Branch widths follow YOLOv8 (c0 = channels of the stride-8 input): box
    ``max(16, c0 // 4, 4 * reg_max)``, class ``max(c0, min(num_classes, 100))``, pose
    ``max(c0 // 4, 3 * K)``.

    Default loss weights are YOLOv8-pose's: box (CIoU) 7.5, DFL 1.5, keypoint OKS 12.0,
    keypoint visibility ("kobj") 1.0, class 0.5. Class/box/DFL losses are normalised by the sum
    of the soft class targets (as in YOLOv8), keypoint/visibility losses are means over positives.
    Unlike YOLOv8 the losses are *not* multiplied by the batch size (MMEngine convention).

    Args:
        num_keypoints (int): K (17 for COCO, 16 for MPII).
        in_channels (Sequence[int] | int): Unscaled input channels per stride (default
            (256, 512, 1024), the outputs of :class:`YOLOv8PAFPN`), multiplied by
            ``widen_factor``.
        widen_factor (float): Width multiplier (n: 0.25, s: 0.5).
        num_classes (int): Number of classes (1: person).
        featmap_strides (Sequence[int]): Strides of the input maps.
        reg_max (int): DFL bins per box side (16: distances up to 15 strides).
        norm_cfg, act_cfg (dict): Norm/activation of the branch convs.
        assigner (dict): Label assigner config (TASK_UTILS).
        loss_cls, loss_bbox, loss_dfl, loss_kpt, loss_vis (dict): Loss configs (MODELS).
            ``loss_kpt`` without ``metainfo``/``sigmas`` gets the sigmas of the MMPose dataset
            matching ``num_keypoints`` (17 -> COCO, 16 -> MPII).
        test_cfg (dict, optional): Defaults for :meth:`predict` (see ``DEFAULT_TEST_CFG``):
            score_thr, nms_pre, nms_thr, max_per_img.
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 num_keypoints: int = 17,
                 in_channels=(256, 512, 1024),
                 widen_factor: float = 0.25,
                 num_classes: int = 1,
                 featmap_strides: Sequence[int] = (8, 16, 32),
                 reg_max: int = 16,
                 norm_cfg: ConfigType = DEFAULT_NORM,
                 act_cfg: ConfigType = DEFAULT_ACT,
                 assigner: ConfigType = dict(
                     type='TaskAlignedAssigner', topk=10, alpha=0.5, beta=6.0),
                 loss_cls: ConfigType = dict(
                     type='BCELoss', reduction='sum', loss_weight=0.5),
                 loss_bbox: ConfigType = dict(
                     type='CIoULoss', reduction='mean', loss_weight=7.5),
                 loss_dfl: ConfigType = dict(
                     type='DFLoss', reduction='mean', loss_weight=1.5),
                 loss_kpt: ConfigType = dict(
                     type='OKSKeypointLoss', reduction='mean', loss_weight=12.0),
                 loss_vis: ConfigType = dict(
                     type='BCELoss', reduction='mean', loss_weight=1.0),
                 test_cfg: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg=init_cfg)
        if num_keypoints < 1 or num_classes < 1:
            raise ValueError(f'num_keypoints and num_classes must be >= 1, got '
                             f'{num_keypoints}, {num_classes}')
        featmap_strides = tuple(int(s) for s in featmap_strides)
        if isinstance(in_channels, int):
            in_channels = [in_channels] * len(featmap_strides)
        if len(in_channels) != len(featmap_strides):
            raise ValueError(f'in_channels {tuple(in_channels)} and featmap_strides '
                             f'{featmap_strides} must have the same length')
        self.num_keypoints = num_keypoints
        self.num_classes = num_classes
        self.featmap_strides = featmap_strides
        self.reg_max = reg_max
        self.in_channels = [make_divisible(c, widen_factor) for c in in_channels]
        c0 = self.in_channels[0]
        box_ch = max(16, c0 // 4, 4 * reg_max)
        cls_ch = max(c0, min(num_classes, 100))
        pose_ch = max(c0 // 4, 3 * num_keypoints)

        def branch(cin, mid):
            return nn.Sequential(
                ConvModule(cin, mid, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
                ConvModule(mid, mid, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg))

        self.cls_convs = nn.ModuleList(branch(c, cls_ch) for c in self.in_channels)
        self.reg_convs = nn.ModuleList(branch(c, box_ch) for c in self.in_channels)
        self.pose_convs = nn.ModuleList(branch(c, pose_ch) for c in self.in_channels)
        self.cls_preds = nn.ModuleList(
            nn.Conv2d(cls_ch, num_classes, 1) for _ in self.in_channels)
        self.reg_preds = nn.ModuleList(
            nn.Conv2d(box_ch, 4 * reg_max, 1) for _ in self.in_channels)
        self.kpt_preds = nn.ModuleList(
            nn.Conv2d(pose_ch, 2 * num_keypoints, 1) for _ in self.in_channels)
        self.vis_preds = nn.ModuleList(
            nn.Conv2d(pose_ch, num_keypoints, 1) for _ in self.in_channels)
        # DFL projection: expected bin index
        self.register_buffer('proj', torch.arange(reg_max, dtype=torch.float32),
                             persistent=False)

        # anchor points at cell centres (offset 0.5), from MMPose's point generator
        self.prior_generator = TASK_UTILS.build(
            dict(type='MlvlPointGenerator', strides=list(featmap_strides), offset=0.5))
        self.assigner = TASK_UTILS.build(assigner)
        loss_kpt = copy.deepcopy(dict(loss_kpt))
        loss_kpt.setdefault('num_keypoints', num_keypoints)
        loss_dfl = copy.deepcopy(dict(loss_dfl))
        loss_dfl.setdefault('reg_max', reg_max)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_dfl = MODELS.build(loss_dfl)
        self.loss_kpt = MODELS.build(loss_kpt)
        self.loss_vis = MODELS.build(loss_vis)
        self.test_cfg = {**DEFAULT_TEST_CFG, **dict(test_cfg or {})}

    def init_weights(self):
        """YOLOv8 bias priors: class bias = log(5 / nc / (640 / s)^2) (about 5 objects per
        640x640 image), DFL bias 1.0 (flat distributions)."""
        super().init_weights()
        for conv, stride in zip(self.cls_preds, self.featmap_strides):
            nn.init.constant_(conv.bias,
                              float(torch.log(torch.tensor(
                                  5.0 / self.num_classes / (640.0 / stride)**2))))
        for conv in self.reg_preds:
            nn.init.constant_(conv.bias, 1.0)

    # ------------------------------------------------------------------ forward / decoding
    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], ...]:
        """Raw per-level maps: (cls_scores, bbox_dists, kpt_offsets, kpt_vis), each a list over
        strides of (B, C, H, W) tensors with C = num_classes, 4 * reg_max, 2K, K.

        (MMDeploy rewrites this method to :meth:`predict_raw`; internal code calls
        :meth:`forward_maps` so that the rewrite cannot recurse.)"""
        return self.forward_maps(feats)

    def forward_maps(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], ...]:
        """Implementation of :meth:`forward`."""
        if not isinstance(feats, (list, tuple)) or len(feats) != len(self.featmap_strides):
            raise ValueError(f'YOLOv8PoseHead expects {len(self.featmap_strides)} feature maps '
                             f'(strides {self.featmap_strides}), got '
                             f'{len(feats) if isinstance(feats, (list, tuple)) else type(feats)}')
        cls_scores, bbox_dists, kpt_offsets, kpt_vis = [], [], [], []
        for i, x in enumerate(feats):
            cls_scores.append(self.cls_preds[i](self.cls_convs[i](x)))
            bbox_dists.append(self.reg_preds[i](self.reg_convs[i](x)))
            pose_feat = self.pose_convs[i](x)
            kpt_offsets.append(self.kpt_preds[i](pose_feat))
            kpt_vis.append(self.vis_preds[i](pose_feat))
        return cls_scores, bbox_dists, kpt_offsets, kpt_vis

    @staticmethod
    def _flatten(preds: List[Tensor]) -> Tensor:
        """List of (B, C, H, W) -> (B, sum(H * W), C)."""
        return torch.cat([p.permute(0, 2, 3, 1).flatten(1, 2) for p in preds], dim=1)

    def get_priors(self, featmap_sizes, dtype, device) -> Tensor:
        """(N, 4) anchor points (x, y, stride_w, stride_h) over all levels, in input pixels."""
        with library_notices_off():  # MMPose's generator calls torch.meshgrid without `indexing`
            return torch.cat(self.prior_generator.grid_priors(
                featmap_sizes, dtype=dtype, device=device, with_stride=True))

    def dfl_decode(self, dist_logits: Tensor) -> Tensor:
        """(..., 4 * reg_max) logits -> (..., 4) expected distances (in bins/strides):
        ``sum_i i * softmax(logits)_i`` per side."""
        dist = dist_logits.reshape(*dist_logits.shape[:-1], 4, self.reg_max).softmax(-1)
        return dist.matmul(self.proj.to(dist.dtype))

    def decode_bboxes(self, dist_logits: Tensor, priors: Tensor) -> Tensor:
        """(B, N, 4 * reg_max) logits + (N, 4) priors -> (B, N, 4) xyxy boxes in pixels."""
        ltrb = self.dfl_decode(dist_logits) * priors[:, 2:].repeat(1, 2)
        xy = priors[:, :2]
        return torch.cat([xy - ltrb[..., :2], xy + ltrb[..., 2:]], dim=-1)

    def decode_keypoints(self, offsets: Tensor, priors: Tensor) -> Tensor:
        """(B, N, 2K) offsets + (N, 4) priors -> (B, N, K, 2) keypoints in pixels.

        YOLOv8-pose's decoding: ``(2 * offset + cell index) * stride``, i.e. measured from the cell's
        top-left corner (the prior, at the cell centre, minus half a stride), so that Ultralytics
        weights (``mmrecanon/models/yolo/convert.py``) keep their meaning."""
        offsets = offsets.reshape(*offsets.shape[:-1], self.num_keypoints, 2)
        stride = priors[:, None, 2:]
        return priors[:, None, :2] - 0.5 * stride + offsets * 2.0 * stride

    def _decode_all(self, feats) -> Dict[str, Tensor]:
        cls_scores, bbox_dists, kpt_offsets, kpt_vis = self.forward_maps(feats)
        featmap_sizes = [c.shape[2:] for c in cls_scores]
        priors = self.get_priors(featmap_sizes, cls_scores[0].dtype, cls_scores[0].device)
        dists = self._flatten(bbox_dists)
        offsets = self._flatten(kpt_offsets)
        return dict(
            priors=priors,
            cls_logits=self._flatten(cls_scores),
            dist_logits=dists,
            bboxes=self.decode_bboxes(dists, priors),
            keypoints=self.decode_keypoints(offsets, priors),
            vis_logits=self._flatten(kpt_vis))

    def predict_raw(self, feats: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """Export path: decoded predictions of every anchor, no thresholding or NMS.

        Returns:
            dets (Tensor): (B, N, 5) boxes x1, y1, x2, y2 (input pixels) and the score (max
                class probability).
            keypoints (Tensor): (B, N, K, 3) keypoint x, y (input pixels) and visibility
                probability.
        """
        return self._raw_from_decoded(self._decode_all(feats))

    @staticmethod
    def _raw_from_decoded(out: Dict[str, Tensor]) -> Tuple[Tensor, Tensor]:
        scores = out['cls_logits'].sigmoid().amax(-1, keepdim=True)
        dets = torch.cat([out['bboxes'], scores], dim=-1)
        keypoints = torch.cat([out['keypoints'], out['vis_logits'].sigmoid()[..., None]],
                              dim=-1)
        return dets, keypoints

    # ------------------------------------------------------------------ training
    def _gt_tensors(self, data_sample, device, dtype) -> Dict[str, Tensor]:
        if 'gt_instance_labels' not in data_sample:
            raise ValueError('YOLOv8PoseHead.loss needs data_sample.gt_instance_labels; use '
                             "GenerateTarget(encoder=dict(type='YOLOXPoseAnnotationProcessor'))"
                             ' in the training pipeline')
        gt = data_sample.gt_instance_labels
        for key in ('bboxes', 'labels', 'keypoints', 'keypoints_visible'):
            if key not in gt:
                raise ValueError(f'gt_instance_labels lacks {key!r} (keys: {list(gt.keys())})')

        def t(x):
            return torch.as_tensor(x, device=device)

        bboxes = t(gt.bboxes).to(dtype).reshape(-1, 4)
        keypoints = t(gt.keypoints).to(dtype).reshape(-1, self.num_keypoints, 2)
        visible = t(gt.keypoints_visible).to(dtype)
        if visible.dim() == 3:
            visible = visible[..., 0]
        visible = visible.reshape(-1, self.num_keypoints)
        if 'areas' in gt:
            areas = t(gt.areas).to(dtype).reshape(-1)
        else:  # no segment area: fall back to the box area
            areas = (bboxes[:, 2:] - bboxes[:, :2]).clamp(min=0).prod(-1)
        return dict(bboxes=bboxes, labels=t(gt.labels).long().reshape(-1),
                    keypoints=keypoints, visible=visible, areas=areas)

    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: OptConfigType = {}) -> dict:
        """Losses of a batch: loss_cls, loss_bbox, loss_dfl, loss_kpt, loss_vis."""
        out = self._decode_all(feats)
        priors = out['priors']
        cls_logits = out['cls_logits']
        batch_size, num_anchors, _ = cls_logits.shape
        if len(batch_data_samples) != batch_size:
            raise ValueError(f'got {len(batch_data_samples)} data samples for a batch of '
                             f'{batch_size}')
        device, dtype = cls_logits.device, cls_logits.dtype
        pred_scores = cls_logits.detach().sigmoid()
        pred_bboxes = out['bboxes'].detach()

        cls_targets, fg_masks = [], []
        t_bboxes, t_kpts, t_vis, t_areas = [], [], [], []
        for b, data_sample in enumerate(batch_data_samples):
            gt = self._gt_tensors(data_sample, device, dtype)
            res = self.assigner.assign(pred_scores[b], pred_bboxes[b], priors[:, :2],
                                       gt['labels'], gt['bboxes'])
            fg = res['fg_mask']
            idx = res['gt_inds'][fg] - 1
            cls_targets.append(res['scores'])
            fg_masks.append(fg)
            t_bboxes.append(res['bboxes'][fg])
            t_kpts.append(gt['keypoints'][idx])
            t_vis.append(gt['visible'][idx])
            t_areas.append(gt['areas'][idx])

        cls_targets = torch.stack(cls_targets)  # (B, N, C)
        fg_mask = torch.stack(fg_masks)  # (B, N)
        score_sum = cls_targets.sum().clamp(min=1.0)
        losses = dict(
            loss_cls=self.loss_cls(cls_logits.reshape(-1, self.num_classes),
                                   cls_targets.reshape(-1, self.num_classes)) / score_sum)

        num_pos = int(fg_mask.sum())
        if num_pos == 0:
            # keep every output in the graph so that all parameters receive (zero) gradients
            zero = sum(out[k].sum() * 0 for k in ('dist_logits', 'keypoints', 'vis_logits'))
            losses.update(loss_bbox=zero, loss_dfl=zero, loss_kpt=zero, loss_vis=zero)
            return losses

        t_bboxes = torch.cat(t_bboxes)
        box_weight = cls_targets[fg_mask].sum(-1)
        pos_priors = priors[None].expand(batch_size, -1, -1)[fg_mask]
        losses['loss_bbox'] = self.loss_bbox(out['bboxes'][fg_mask], t_bboxes,
                                             weight=box_weight, avg_factor=score_sum)
        # DFL targets: gt side distances in strides
        xy, stride = pos_priors[:, :2], pos_priors[:, 2:]
        ltrb = torch.cat([xy - t_bboxes[:, :2], t_bboxes[:, 2:] - xy], -1) / stride.repeat(1, 2)
        losses['loss_dfl'] = self.loss_dfl(out['dist_logits'][fg_mask], ltrb,
                                           weight=box_weight, avg_factor=score_sum)
        t_vis = torch.cat(t_vis)
        losses['loss_kpt'] = self.loss_kpt(out['keypoints'][fg_mask], torch.cat(t_kpts),
                                           t_vis, torch.cat(t_areas))
        losses['loss_vis'] = self.loss_vis(out['vis_logits'][fg_mask], (t_vis > 0).to(dtype))
        return losses

    # ------------------------------------------------------------------ inference
    def predict(self,
                feats,
                batch_data_samples: OptSampleList,
                test_cfg: OptConfigType = {}) -> List[InstanceData]:
        """Decode, threshold, NMS and top-k per image.

        Returns:
            list[InstanceData]: per image, numpy fields in model-input space (mapped back to the
            image by ``BottomupPoseEstimator.add_pred_to_datasample``): ``bboxes`` (n, 4),
            ``bbox_scores``/``scores`` (n,), ``labels`` (n,), ``keypoints`` (n, K, 2),
            ``keypoint_scores``/``keypoints_visible`` (n, K) = sigmoid(visibility logits).
        """
        cfg = {**self.test_cfg, **dict(test_cfg or {})}
        if cfg.get('flip_test', False) or cfg.get('multiscale_test', False):
            raise ValueError('YOLOv8PoseHead does not support flip_test / multiscale_test')
        out = self._decode_all(feats)
        dets, keypoints = self._raw_from_decoded(out)
        cls_probs = out['cls_logits'].sigmoid() if self.num_classes > 1 else None
        results = []
        for b in range(dets.shape[0]):
            boxes, scores = dets[b, :, :4], dets[b, :, 4]
            labels = (cls_probs[b].argmax(-1) if cls_probs is not None else
                      torch.zeros_like(scores, dtype=torch.long))
            keep = (scores > cfg['score_thr']).nonzero().squeeze(1)
            keep = keep[scores[keep].argsort(descending=True)[:cfg['nms_pre']]]
            if keep.numel() > 0 and cfg['nms_thr'] < 1.0:
                _, nms_keep = batched_nms(boxes[keep], scores[keep], labels[keep],
                                          dict(type='nms', iou_threshold=cfg['nms_thr']))
                keep = keep[nms_keep]
            keep = keep[:cfg['max_per_img']]
            boxes = boxes[keep].clone()
            if batch_data_samples is not None and \
                    'input_size' in batch_data_samples[b].metainfo:
                w, h = batch_data_samples[b].metainfo['input_size']
                boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
                boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
            kpt_scores = keypoints[b, keep, :, 2]
            inst = InstanceData(
                bboxes=boxes,
                bbox_scores=scores[keep],
                scores=scores[keep],
                labels=labels[keep],
                keypoints=keypoints[b, keep, :, :2],
                keypoint_scores=kpt_scores,
                keypoints_visible=kpt_scores)
            results.append(inst.numpy())
        return results
