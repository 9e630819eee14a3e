"""Tests of the YOLOv8-style pose estimator P (mmrecanon.models.yolo) and its ONNX export."""
import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import mmrecanon  # noqa: F401  (applies the torch compatibility shims)
from mmrecanon.models.yolo import (CIoULoss, DFLoss, OKSKeypointLoss, TaskAlignedAssigner,
                                   YOLOv8CSPDarknet, YOLOv8PAFPN, YOLOv8PoseHead)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / '..' / 'shared' / 'data'
TINY = DATA / 'mmpose-tiny'
TINY_CFG = REPO / 'configs' / 'yolov8pose' / 'yolov8pose-n_coco-tiny.py'
DEPLOY_CFG = REPO / 'configs' / 'deploy' / 'pose-detection_yolov8pose_onnxruntime_static-320x320.py'
BASE_POSE = REPO / 'configs' / '_base_' / 'pose'


@pytest.fixture(autouse=True)
def _mmpose_scope():
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=True)

needs_tiny = pytest.mark.skipif(not (TINY / 'coco' / 'test_coco.json').exists(),
                                reason='mmpose-tiny data not found at ../shared/data/mmpose-tiny')


def _head(**kw):
    kw.setdefault('widen_factor', 0.25)
    return YOLOv8PoseHead(**kw)


# ----------------------------------------------------------------------------- registry / configs
def test_registry_names():
    from mmpose.registry import MODELS, TASK_UTILS
    for cls in (YOLOv8CSPDarknet, YOLOv8PAFPN, YOLOv8PoseHead, DFLoss, CIoULoss,
                OKSKeypointLoss):
        assert MODELS.get(cls.__name__) is cls
    assert TASK_UTILS.get('TaskAlignedAssigner') is TaskAlignedAssigner


@pytest.mark.parametrize('name,channels,k,sigma0', [
    ('yolov8pose_n_coco', [64, 128, 256], 17, 0.026),
    ('yolov8pose_s_coco', [128, 256, 512], 17, 0.026),
    ('yolov8pose_n_mpii', [64, 128, 256], 16, 0.089),
    ('yolov8pose_s_mpii', [128, 256, 512], 16, 0.089),
])
def test_base_configs_build(name, channels, k, sigma0):
    from mmengine.config import Config
    from mmpose.registry import MODELS
    cfg = Config.fromfile(str(BASE_POSE / f'{name}.py'))
    assert set(cfg.keys()) == {'pose_estimator', 'pose_mode', 'pose_codec'}  # MMPose's idiom: variables
    assert cfg.pose_mode == 'bottomup'
    assert cfg.pose_codec.type == 'YOLOXPoseAnnotationProcessor'
    model = MODELS.build(cfg.pose_estimator)
    assert type(model).__name__ == 'BottomupPoseEstimator'
    assert model.backbone.out_channels[2:] == channels
    assert model.neck.out_channels == channels
    assert model.head.in_channels == channels
    assert model.head.num_keypoints == k
    assert model.head.loss_kpt.sigmas.numel() == k
    assert model.head.loss_kpt.sigmas[0].item() == pytest.approx(sigma0)
    feats = model.extract_feat(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(1, c, 64 // s, 96 // s)
                                               for c, s in zip(channels, (8, 16, 32))]


# ----------------------------------------------------------------------------- assigner
def test_assigner_hand_example():
    # two gts side by side; anchors 0,1 inside gt0, anchors 2,3 inside gt1, anchor 4 in neither
    gt_bboxes = torch.tensor([[0., 0., 20., 10.], [20., 0., 40., 10.]])
    gt_labels = torch.tensor([0, 0])
    anchors = torch.tensor([[5., 5.], [15., 5.], [25., 5.], [35., 5.], [50., 5.]])
    pred_bboxes = torch.tensor([[0., 0., 20., 10.],   # IoU 1 with gt0
                                [0., 0., 10., 10.],   # IoU 0.5 with gt0
                                [20., 0., 40., 10.],  # IoU 1 with gt1
                                [30., 0., 40., 10.],  # IoU 0.5 with gt1
                                [0., 0., 40., 10.]])  # IoU 0.5 with both, but outside
    pred_scores = torch.tensor([[0.25], [0.64], [0.81], [0.09], [0.9]])
    # t = s^0.5 * IoU^6
    expected_metric = torch.tensor([[0.5, 0.8 / 64, 0., 0., 0.],
                                    [0., 0., 0.9, 0.3 / 64, 0.]])

    res = TaskAlignedAssigner(topk=1).assign(pred_scores, pred_bboxes, anchors, gt_labels,
                                             gt_bboxes)
    torch.testing.assert_close(res['align_metric'], expected_metric)
    assert res['gt_inds'].tolist() == [1, 0, 2, 0, 0]
    assert res['fg_mask'].tolist() == [True, False, True, False, False]
    assert res['labels'].tolist() == [0, 1, 0, 1, 1]  # background label = num_classes
    torch.testing.assert_close(res['scores'][:, 0], torch.tensor([1., 0., 1., 0., 0.]))

    res = TaskAlignedAssigner(topk=2).assign(pred_scores, pred_bboxes, anchors, gt_labels,
                                             gt_bboxes)
    assert res['gt_inds'].tolist() == [1, 1, 2, 2, 0]
    torch.testing.assert_close(res['bboxes'][1], gt_bboxes[0])
    torch.testing.assert_close(res['bboxes'][3], gt_bboxes[1])
    # soft target = t / max_t(gt) * max IoU(gt)
    torch.testing.assert_close(res['scores'][:, 0],
                               torch.tensor([1., 0.0125 / 0.5, 1., 0.0046875 / 0.9, 0.]))


def test_assigner_conflict_goes_to_higher_iou():
    gt_bboxes = torch.tensor([[0., 0., 30., 10.], [10., 0., 40., 10.]])
    anchors = torch.tensor([[20., 5.]])  # inside both
    pred = torch.tensor([[12., 0., 32., 10.]])  # IoU 180/320 with gt0, 200/300 with gt1
    res = TaskAlignedAssigner().assign(torch.tensor([[0.5]]), pred, anchors,
                                       torch.tensor([0, 0]), gt_bboxes)
    torch.testing.assert_close(res['overlaps'][:, 0], torch.tensor([0.5625, 2 / 3]))
    assert res['gt_inds'].tolist() == [2]
    # only gt1 keeps the anchor: target = its IoU (the anchor is gt1's best)
    assert res['scores'][0, 0].item() == pytest.approx(2 / 3, rel=1e-5)


def test_assigner_empty_and_bad_input():
    res = TaskAlignedAssigner().assign(torch.rand(4, 1), torch.rand(4, 4), torch.rand(4, 2),
                                       torch.zeros(0, dtype=torch.long), torch.zeros(0, 4))
    assert not res['fg_mask'].any() and res['scores'].sum() == 0
    with pytest.raises(ValueError, match='gt_labels'):
        TaskAlignedAssigner().assign(torch.rand(4, 1), torch.rand(4, 4), torch.rand(4, 2),
                                     torch.tensor([1]), torch.tensor([[0., 0., 1., 1.]]))


# ----------------------------------------------------------------------------- DFL
def test_dfl_decode_hand_distribution():
    head = _head(reg_max=4)
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.4],    # 0*.1 + 1*.2 + 2*.3 + 3*.4 = 2.0
                          [0.7, 0.1, 0.1, 0.1],    # 0.6
                          [0.0, 0.0, 1.0, 0.0],    # 2.0
                          [0.25, 0.25, 0.25, 0.25]])  # 1.5
    logits = probs.clamp(min=1e-12).log().reshape(1, 1, 16)
    torch.testing.assert_close(head.dfl_decode(logits)[0, 0],
                               torch.tensor([2.0, 0.6, 2.0, 1.5]))
    # anchors are cell centres (x, y, stride_w, stride_h), level by level, row-major
    torch.testing.assert_close(
        head.get_priors([(1, 2), (1, 1), (1, 1)], torch.float32, 'cpu'),
        torch.tensor([[4., 4., 8., 8.], [12., 4., 8., 8.], [8., 8., 16., 16.],
                      [16., 16., 32., 32.]]))
    priors = torch.tensor([[100., 50., 8., 8.]])  # anchor (100, 50), stride 8
    torch.testing.assert_close(head.decode_bboxes(logits, priors)[0, 0],
                               torch.tensor([84., 45.2, 116., 62.]))
    # keypoints (YOLOv8): cell corner (anchor - stride / 2) + 2 * stride * offset
    offsets = torch.zeros(1, 1, 34)
    offsets[0, 0, :2] = torch.tensor([1.0, -0.5])
    kpts = head.decode_keypoints(offsets, priors)[0, 0]
    torch.testing.assert_close(kpts[0], torch.tensor([112., 38.]))
    torch.testing.assert_close(kpts[1], torch.tensor([96., 46.]))


def test_dfl_loss_by_hand():
    logits = torch.tensor([0.1, 0.2, 0.3, 0.4]).log().expand(1, 4, 4).contiguous()
    target = torch.tensor([[1.3, 0.0, 2.5, 1.0]])
    # -(wl ln p_l + wr ln p_r): 1.3 -> .7 ln .2 + .3 ln .3; 0 -> ln .1; 2.5 -> .5 ln .3 + .5 ln .4
    expected = (1.4877983800 + 2.3025850930 + 1.0601317681 + 1.6094379124) / 4
    assert DFLoss(reg_max=4)(logits, target).item() == pytest.approx(expected, rel=1e-6)
    # targets beyond the last bin are clamped to reg_max - 1 - 0.01
    t = torch.full((1, 4), 3.5)
    assert DFLoss(reg_max=4)(logits, t).item() == pytest.approx(
        -(0.01 * math.log(0.3) + 0.99 * math.log(0.4)), rel=1e-6)
    # weighted sum / avg_factor, loss_weight
    two = torch.cat([logits, logits])
    val = DFLoss(reg_max=4, loss_weight=1.5)(two, torch.cat([target, target]),
                                             weight=torch.tensor([1.0, 0.5]), avg_factor=3.0)
    assert val.item() == pytest.approx(1.5 * expected * 1.5 / 3.0, rel=1e-6)
    with pytest.raises(ValueError, match='DFLoss'):
        DFLoss(reg_max=4)(torch.zeros(2, 5), torch.zeros(2, 4))


def test_ciou_loss_matches_torchvision():
    from torchvision.ops import complete_box_iou_loss
    a = torch.tensor([[0., 0., 10., 10.], [5., 5., 15., 25.]])
    b = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.]])
    loss = CIoULoss(reduction='none')(a, b)
    assert loss[0].item() == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(loss, complete_box_iou_loss(a, b, reduction='none'))


# ----------------------------------------------------------------------------- OKS
def test_oks_loss_two_keypoints_by_hand():
    loss = OKSKeypointLoss(sigmas=(0.1, 0.2))
    target = torch.tensor([[[10., 10.], [20., 20.]]])
    pred = torch.tensor([[[13., 14.], [22., 20.]]])  # d^2 = 25 and 4
    area = torch.tensor([100.])
    # oks_k = exp(-d^2 / (2 * area * (2 sigma)^2)) = exp(-3.125), exp(-0.125)
    oks = (math.exp(-3.125) + math.exp(-0.125)) / 2
    assert loss(pred, target, torch.ones(1, 2), area).item() == pytest.approx(1 - oks, rel=1e-6)
    assert loss(pred, target, torch.tensor([[1., 0.]]), area).item() == pytest.approx(
        1 - math.exp(-3.125), rel=1e-6)
    # no labelled keypoint -> 0
    assert loss(pred, target, torch.zeros(1, 2), area).item() == 0.0
    # MMPose's OKS (used by its keypoint NMS) gives the same value
    from mmpose.evaluation.functional.nms import oks_iou
    g = np.concatenate([target[0].numpy(), np.ones((2, 1))], 1).reshape(-1)  # (K*3,) x, y, v
    d = np.concatenate([pred[0].numpy(), np.ones((2, 1))], 1).reshape(1, -1)
    ref = oks_iou(g, d, 100.0, np.array([100.0]), sigmas=np.array([0.1, 0.2]))
    assert loss.oks(pred, target, torch.ones(1, 2), area).item() == pytest.approx(ref[0],
                                                                                  rel=1e-5)


def test_oks_sigmas_from_metainfo():
    coco = OKSKeypointLoss(num_keypoints=17)
    mpii = OKSKeypointLoss(num_keypoints=16)
    assert coco.sigmas[:3].tolist() == pytest.approx([0.026, 0.025, 0.025])
    assert mpii.sigmas[:2].tolist() == pytest.approx([0.089, 0.083])
    with pytest.raises(ValueError, match='no default OKS sigmas'):
        OKSKeypointLoss(num_keypoints=5)


# ----------------------------------------------------------------------------- round trip
def _tiny_cfg():
    from mmengine.config import Config
    return Config.fromfile(str(TINY_CFG))


def _batch(cfg, pipeline_key, n=2, test_mode=False):
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg[pipeline_key].dataset)
    ds_cfg = ds_cfg.get('dataset', ds_cfg)  # unwrap RepeatDataset
    ds_cfg.data_root = str(TINY) + '/'
    ds = DATASETS.build(ds_cfg)
    # images 2 and 3 of test_coco.json (5 people each)
    return pseudo_collate([ds[i] for i in range(2, 2 + n)])


@needs_tiny
def test_forward_loss_predict_round():
    from mmpose.registry import MODELS
    torch.manual_seed(0)
    cfg = _tiny_cfg()
    model = MODELS.build(cfg.model)
    model.init_weights()

    # ---- training round on 2 images from the real pipeline
    data = model.data_preprocessor(_batch(cfg, 'train_dataloader'), True)
    assert tuple(data['inputs'].shape) == (2, 3, 320, 320)
    gts = [d.gt_instance_labels for d in data['data_samples']]
    assert all(g.keypoints.shape[1:] == (17, 2) and len(g.areas) == len(g.bboxes) for g in gts)
    model.train()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl', 'loss_kpt', 'loss_vis'}
    assert all(torch.isfinite(v) and v.item() > 0 for v in losses.values())
    assert losses['loss_kpt'].item() <= 12.0  # 12 * (1 - OKS), OKS in [0, 1]
    sum(losses.values()).backward()
    assert model.head.kpt_preds[0].weight.grad.abs().sum() > 0
    assert model.backbone.stem.conv.weight.grad.abs().sum() > 0

    # ---- prediction round on 2 images (val pipeline)
    model.eval()
    batch = _batch(cfg, 'val_dataloader')
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        raw_dets, raw_kpts = model.head.predict_raw(model.extract_feat(data['inputs']))
        results = model.predict(data['inputs'], data['data_samples'])
    assert tuple(raw_dets.shape) == (2, 40 * 40 + 20 * 20 + 10 * 10, 5)
    assert tuple(raw_kpts.shape) == (2, 2100, 17, 3)
    test_cfg = {**model.head.test_cfg, **cfg.model.test_cfg}
    for b, ds in enumerate(results):
        pred = ds.pred_instances
        n = len(pred)
        assert 0 < n <= test_cfg['max_per_img']
        assert pred.keypoints.shape == (n, 17, 2) and pred.keypoint_scores.shape == (n, 17)
        assert pred.bboxes.shape == (n, 4) and pred.bbox_scores.shape == (n,)
        assert pred.keypoints_visible.shape == (n, 17)
        assert np.all(np.diff(pred.bbox_scores) <= 0)  # sorted by score
        # the best detection is the best raw anchor, mapped back from input to image space
        best = raw_dets[b, :, 4].argmax()
        assert pred.bbox_scores[0] == pytest.approx(raw_dets[b, best, 4].item(), rel=1e-6)
        meta = ds.metainfo
        size, center, scale = (np.asarray(meta[k], dtype=np.float64)
                               for k in ('input_size', 'input_center', 'input_scale'))
        kpt = raw_kpts[b, best, :, :2].numpy() / size * scale + center - 0.5 * scale
        np.testing.assert_allclose(pred.keypoints[0], kpt, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(pred.keypoint_scores[0], raw_kpts[b, best, :, 2].numpy(),
                                   rtol=1e-5)


def test_loss_with_an_image_without_people():
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample
    torch.manual_seed(0)
    head = _head()
    head.init_weights()
    feats = [torch.randn(1, c, 64 // s, 64 // s) for c, s in zip((64, 128, 256), (8, 16, 32))]
    sample = PoseDataSample()
    sample.gt_instance_labels = InstanceData(
        bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long),
        keypoints=torch.zeros(0, 17, 2), keypoints_visible=torch.zeros(0, 17),
        areas=torch.zeros(0))
    losses = head.loss(feats, [sample])
    # all anchors are background: BCE(logit, 0) summed, normalised by max(sum of targets, 1) = 1
    logits = head._flatten(head.forward(feats)[0])
    expected = 0.5 * torch.nn.functional.softplus(logits).sum()
    assert losses['loss_cls'].item() == pytest.approx(expected.item(), rel=1e-5)
    assert all(losses[k].item() == 0 for k in ('loss_bbox', 'loss_dfl', 'loss_kpt', 'loss_vis'))
    sum(losses.values()).backward()  # every branch stays in the graph
    assert head.kpt_preds[0].weight.grad is not None


def test_head_bad_inputs():
    head = _head()
    with pytest.raises(ValueError, match='3 feature maps'):
        head.forward([torch.zeros(1, 64, 8, 8)])
    with pytest.raises(ValueError, match='same length'):
        YOLOv8PoseHead(in_channels=(256, 512), featmap_strides=(8, 16, 32))
    with pytest.raises(ValueError, match='expects an'):
        YOLOv8CSPDarknet()(torch.zeros(1, 1, 32, 32))


# ----------------------------------------------------------------------------- ONNX export
@needs_tiny
def test_onnx_export_matches_pytorch(tmp_path):
    ort = pytest.importorskip('onnxruntime')
    pytest.importorskip('mmdeploy')
    from mmdeploy.apis import build_task_processor, torch2onnx
    from mmdeploy.utils import load_config

    img = str(TINY / 'coco' / '000000196141.jpg')
    model_cfg = _tiny_cfg()
    model_cfg.test_dataloader.dataset.data_root = str(TINY) + '/'
    deploy_cfg = load_config(str(DEPLOY_CFG))[0]
    torch.manual_seed(0)
    ckpt = tmp_path / 'rand.pth'
    # random init (BN statistics perturbed so they matter), saved as a checkpoint for MMDeploy
    task = build_task_processor(model_cfg, deploy_cfg, 'cpu')
    model = task.build_pytorch_model(None)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    torch.save({'state_dict': model.state_dict()}, ckpt)

    torch2onnx(img, str(tmp_path), 'end2end.onnx', deploy_cfg, model_cfg, str(ckpt), 'cpu')
    onnx_file = tmp_path / 'end2end.onnx'
    assert onnx_file.exists()

    _, inputs = task.create_input(img, [320, 320], data_preprocessor=model.data_preprocessor)
    if isinstance(inputs, list):
        inputs = inputs[0]
    assert tuple(inputs.shape) == (1, 3, 320, 320)
    model.eval()
    with torch.no_grad():
        ref_dets, ref_kpts = model.head.predict_raw(model.extract_feat(inputs))
    sess = ort.InferenceSession(str(onnx_file), providers=['CPUExecutionProvider'])
    assert [o.name for o in sess.get_outputs()] == ['dets', 'keypoints']
    dets, kpts = sess.run(None, {'input': inputs.numpy()})
    assert dets.shape == (1, 2100, 5) and kpts.shape == (1, 2100, 17, 3)
    np.testing.assert_allclose(dets, ref_dets.numpy(), atol=1e-3, rtol=1e-3)
    np.testing.assert_allclose(kpts, ref_kpts.numpy(), atol=1e-3, rtol=1e-3)
