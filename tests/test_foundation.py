"""The stack installed by tools/setup_env.sh works, and mmrecanon plugs into MMPose's registries."""
import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import mmrecanon
from mmrecanon import compat


def test_version_and_compat_applied():
    assert mmrecanon.__version__.count('.') == 2
    assert os.environ.get(compat.WEIGHTS_ONLY_ENV) == '1'
    assert getattr(torch.onnx.export, '_mmrecanon_patched', False)


def test_checkpoint_shim_loads_mmengine_checkpoint(tmp_path):
    """torch>=2.6 refuses mmengine checkpoints (numpy/HistoryBuffer pickles) without the shim."""
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = {'state_dict': {'w': torch.arange(3.)}, 'message_hub': HistoryBuffer(),
            'meta': {'arr': np.arange(4)}}
    path = tmp_path / 'c.pth'
    torch.save(ckpt, path)
    code = ('import os; os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None); import torch, sys; '
            'torch.load(sys.argv[1])')
    without = subprocess.run([sys.executable, '-c', code, str(path)], capture_output=True, text=True)
    assert without.returncode != 0 and 'weights_only' in without.stderr
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))
    assert loaded['meta']['arr'].tolist() == [0, 1, 2, 3]


def test_onnx_shim_uses_torchscript_exporter(tmp_path):
    import onnxruntime as ort
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).eval()
    x = torch.randn(1, 3, 8, 8)
    path = tmp_path / 'm.onnx'
    torch.onnx.export(model, (x, ), str(path), input_names=['x'], opset_version=11)  # dynamo=False injected
    out = ort.InferenceSession(str(path)).run(None, {'x': x.numpy()})[0]
    np.testing.assert_allclose(out, model(x).detach().numpy(), atol=1e-5)
    # an explicit dynamo argument is passed through, not duplicated
    torch.onnx.export(model, (x, ), str(tmp_path / 'm2.onnx'), dynamo=False, opset_version=11)
    assert (tmp_path / 'm2.onnx').stat().st_size > 0
    compat.apply()  # idempotent: no double wrapping
    assert not getattr(torch.onnx.export.__wrapped__, '_mmrecanon_patched', False)


def _registered_classes():
    """Public classes (in a package's ``__all__``) that are models, transforms, metrics or hooks.

    Abstract bases (``...Base``) and private building blocks (not exported) are not config types.
    """
    from mmcv.transforms import BaseTransform
    from mmengine.evaluator import BaseMetric
    from mmengine.hooks import Hook
    found = {}
    for info in pkgutil.walk_packages(mmrecanon.__path__, 'mmrecanon.'):
        if info.name.startswith('mmrecanon.cli'):
            continue
        mod = importlib.import_module(info.name)
        for name in getattr(mod, '__all__', []):
            obj = getattr(mod, name)
            if not inspect.isclass(obj) or name.endswith('Base'):
                continue
            for base, reg in ((torch.nn.Module, 'MODELS'), (BaseTransform, 'TRANSFORMS'),
                              (BaseMetric, 'METRICS'), (Hook, 'HOOKS')):
                if issubclass(obj, base):
                    found[name] = (reg, obj)
    return found


def test_every_module_registered_in_mmpose_registries():
    import mmpose.registry as R
    found = _registered_classes()
    assert {'ReCanon', 'UnetGenerator', 'ResnetGenerator', 'PatchDiscriminator', 'GANLoss',
            'ThresholdL1Loss', 'ConsistencyLoss', 'Desensitizer', 'PortraitBoxes',
            'PortraitQualityMetric', 'MultiViewPoseMetric', 'ReCanonVisualizationHook'} <= set(found)
    for name, (reg, cls) in found.items():
        registry = getattr(R, reg)
        got = registry.get(name)
        if got is None and reg == 'MODELS':  # assigners live in TASK_UTILS, wrappers in MODEL_WRAPPERS
            got = R.TASK_UTILS.get(name) or R.MODEL_WRAPPERS.get(name)
        assert got is cls, f'{name} is not registered in mmpose.registry.{reg}'


def test_mmcv_ops_nms_runs_on_cpu():
    from mmcv.ops import nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert dets.shape == (2, 5)


def test_init_model_rtmpose_from_installed_mmpose(tiny_coco):
    from mmengine.config import Config
    from mmpose.apis import inference_topdown, init_model
    from mmpose.utils import register_all_modules
    import mmpose
    register_all_modules()
    cfg_path = os.path.join(os.path.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint',
                            'rtmpose', 'coco', 'rtmpose-t_8xb256-420e_coco-256x192.py')
    cfg = Config.fromfile(cfg_path)
    cfg.model.backbone.init_cfg = None  # no downloads here
    cfg.model.backbone.norm_cfg = dict(type='BN')
    model = init_model(cfg, checkpoint=None, device='cpu')
    img = str(tiny_coco / '000000000785.jpg')
    results = inference_topdown(model, img, bboxes=np.array([[0, 0, 200, 300]], np.float32))
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)


def test_xtcocotools_cocoeval_gt_as_predictions(tiny_coco, tmp_path):
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval
    ann = str(tiny_coco / 'test_coco.json')
    gt = COCO(ann)
    dets = []
    for a in json.load(open(ann))['annotations']:
        if a.get('num_keypoints', 0) > 0 and not a.get('iscrowd', 0):
            dets.append(dict(image_id=a['image_id'], category_id=1, keypoints=a['keypoints'], score=1.0))
    dt = gt.loadRes(dets)
    ev = COCOeval(gt, dt, 'keypoints', use_area=True)
    ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_visualizer_shim_draws_keypoints_with_numpy2():
    from mmengine.structures import InstanceData
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.structures import PoseDataSample
    from mmpose.visualization import PoseLocalVisualizer
    vis = PoseLocalVisualizer.get_instance('test_shim', radius=3, line_width=1)
    vis.set_dataset_meta(parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py')))
    img = np.zeros((64, 64, 3), np.uint8)
    kpts = np.full((1, 17, 2), 32.0, np.float32)
    sample = PoseDataSample(pred_instances=InstanceData(keypoints=kpts, keypoint_scores=np.ones((1, 17))))
    vis.add_datasample('t', img, sample, draw_gt=False, draw_bbox=False, show=False)
    drawn = vis.get_image()
    assert drawn[32, 32].any() and not drawn[0, 0].any()
