"""MMDeploy rewriter of :meth:`YOLOv8PoseHead.forward` for the PoseDetection task.

MMDeploy's ``BasePoseEstimator.forward`` rewriter calls ``estimator._forward(inputs)``, which
returns ``head.forward(feats)`` (raw per-level maps). During export we replace it with the decoded
outputs that MMDeploy's ``End2EndModel.pack_yolox_pose_result`` consumes:

* ``dets`` (B, N, 5): x1, y1, x2, y2, score in model-input pixels;
* ``keypoints`` (B, N, K, 3): x, y, visibility score.

Default (deploy config without ``codebase_config.post_processing``): all N anchors, no
thresholding/NMS -- a static graph whose outputs match :meth:`YOLOv8PoseHead.predict_raw`
exactly; thresholding and NMS are left to the caller. With ``post_processing`` (MMDeploy's usual
keys: score_threshold, iou_threshold, max_output_boxes_per_class, pre_top_k, keep_top_k) the
graph ends with MMDeploy's ``multiclass_nms`` (ONNX NonMaxSuppression), like MMDeploy's RTMO
rewriter, and N becomes keep_top_k.
"""
import torch
from mmdeploy.core import FUNCTION_REWRITER
from mmpose.registry import MODELS


@FUNCTION_REWRITER.register_rewriter(
    func_name='mmrecanon.models.yolo.head.YOLOv8PoseHead.forward')
def yolov8pose_head__forward(self, feats, *args, **kwargs):
    """Decoded (dets, keypoints) instead of raw maps; optional ONNX NMS (see module doc)."""
    ctx = FUNCTION_REWRITER.get_context()
    dets, keypoints = self.predict_raw(feats)
    codebase_cfg = ctx.cfg.get('codebase_config', {})
    post = codebase_cfg.get('post_processing', None)
    if not post:
        return dets, keypoints

    from mmdeploy.mmcv.ops.nms import multiclass_nms
    from mmdeploy.utils import Backend, get_backend
    if get_backend(ctx.cfg) == Backend.TENSORRT:
        # TensorRT's batched NMS fills missing indices with -1: append an all-zero anchor so
        # that they select it (as MMDeploy's RTMO rewriter does)
        dets = torch.cat([dets, dets.new_zeros((dets.shape[0], 1, dets.shape[2]))], dim=1)
        keypoints = torch.cat(
            [keypoints, keypoints.new_zeros((keypoints.shape[0], 1) + keypoints.shape[2:])], dim=1)
    bboxes, scores = dets[..., :4], dets[..., 4:]
    score_thr = post.get('score_threshold', self.test_cfg['score_thr'])
    _, _, nms_idx = multiclass_nms(
        bboxes,
        scores,
        post.get('max_output_boxes_per_class', 200),
        iou_threshold=post.get('iou_threshold', self.test_cfg['nms_thr']),
        score_threshold=score_thr,
        pre_top_k=post.get('pre_top_k', -1),
        keep_top_k=post.get('keep_top_k', self.test_cfg['max_per_img']),
        output_index=True)
    batch_idx = torch.arange(dets.shape[0], device=dets.device).view(-1, 1)
    dets, keypoints = dets[batch_idx, nms_idx], keypoints[batch_idx, nms_idx]
    # MMDeploy pads the kept indices; padded rows point at arbitrary anchors -> zero them (rows
    # with score 0 are dropped by MMDeploy's pack_yolox_pose_result)
    valid = (dets[..., 4:5] > score_thr).to(dets.dtype)
    return dets * valid, keypoints * valid[..., None]


@MODELS.register_module()
class YOLOv8PoseExportModule(torch.nn.Module):
    """Plain-PyTorch export wrapper (without MMDeploy): ``forward(inputs)`` runs the estimator's
    backbone + neck and returns :meth:`YOLOv8PoseHead.predict_raw` (dets, keypoints).
    ``inputs`` are already normalised (the estimator's data_preprocessor is not part of the
    graph, as in MMDeploy). Use ``torch.onnx.export(YOLOv8PoseExportModule(model), x, ...,
    dynamo=False)``.
    """

    def __init__(self, estimator: torch.nn.Module):
        super().__init__()
        head = getattr(estimator, 'head', None)
        if head is None or not hasattr(head, 'predict_raw'):
            raise TypeError(f'expected a pose estimator with a YOLOv8PoseHead, got '
                            f'{type(estimator).__name__} with head {type(head).__name__}')
        self.estimator = estimator

    def forward(self, inputs: torch.Tensor):
        return self.estimator.head.predict_raw(self.estimator.extract_feat(inputs))
