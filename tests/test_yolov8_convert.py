"""Ultralytics YOLOv8-pose → project P: key mapping, batch-norm rules, fidelity against OpenVINO, bad input."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch

import mmrecanon  # noqa: F401
import mmrecanon.models  # noqa: F401
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from mmrecanon.models.yolo.convert import ConversionError, _fold, convert_state_dict

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.join(ROOT, '..', 'shared')
NPZ = osp.join(SHARED, 'weights', 'yolov8n-pose-coco', 'yolov8n-pose_fused_float.npz')
IMAGES = osp.join(SHARED, 'data', 'people-mini', 'images')
REFERENCE = osp.join(ROOT, 'tests', 'data', 'yolov8n_pose_openvino_ref.json')
FUSED_CFG = osp.join(ROOT, 'configs', '_base_', 'pose', 'yolov8pose_n_coco_fused.py')
needs_weights = pytest.mark.skipif(not osp.isfile(NPZ), reason=f'pretrained weights not found: {NPZ}')


def _tool():
    path = osp.join(ROOT, 'tools', 'model_converters', 'yolov8_pose_to_mmrecanon.py')
    spec = importlib.util.spec_from_file_location('yolov8_pose_to_mmrecanon', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _build(cfg_path, **head):
    init_default_scope('mmpose')
    cfg = Config.fromfile(cfg_path).pose_estimator  # a `_base_/pose` file defines the variable
    cfg.head.update(head)
    return MODELS.build(cfg).eval()


@pytest.fixture(scope='module')
def source():
    if not osp.isfile(NPZ):
        pytest.skip(f'pretrained weights not found: {NPZ}')
    with np.load(NPZ) as data:
        return {k: torch.from_numpy(np.array(data[k])) for k in data.files}


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    if not osp.isfile(NPZ):
        pytest.skip(f'pretrained weights not found: {NPZ}')
    out = str(tmp_path_factory.mktemp('convert') / 'yolov8n.pth')
    assert _tool().main([NPZ, out]) == 0
    return out


def test_fold_matches_conv_bn_in_eval_mode():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1, bias=False)
    bn = torch.nn.BatchNorm2d(4, eps=1e-3)
    bn.weight.data.uniform_(0.5, 2)
    bn.bias.data.normal_()
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2)
    ref = torch.nn.Sequential(conv, bn).eval()
    w, b = _fold(conv.weight, {f'bn.{k}': getattr(bn, k) for k in
                               ('weight', 'bias', 'running_mean', 'running_var')}, 1e-3)
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(torch.nn.functional.conv2d(x, w, b, padding=1), ref(x), atol=1e-5, rtol=1e-5)


@needs_weights
def test_converted_checkpoint_meta_and_strict_keys(converted):
    ckpt = torch.load(converted, map_location='cpu', weights_only=False)
    meta = ckpt['meta']
    assert meta['licence'].startswith('AGPL-3.0')
    assert len(meta['source_sha256']) == 64 and meta['num_keypoints'] == 17
    model = _build(FUSED_CFG)
    assert set(ckpt['state_dict']) == set(model.state_dict())
    model.load_state_dict(ckpt['state_dict'], strict=True)
    # the keypoint conv's 51 outputs (x, y, v per keypoint) split into 34 offsets and 17 visibilities
    assert ckpt['state_dict']['head.kpt_preds.0.weight'].shape[0] == 34
    assert ckpt['state_dict']['head.vis_preds.0.weight'].shape[0] == 17


@needs_weights
def test_fused_into_batchnorm_layout_is_exact_in_eval_mode(source):
    fused = _build(FUSED_CFG)
    fused.load_state_dict(convert_state_dict(source, fused, num_keypoints=17))
    bn_model = _build(osp.join(ROOT, 'configs', '_base_', 'pose', 'yolov8pose_n_coco.py'))
    state = convert_state_dict(source, bn_model, num_keypoints=17)
    bn_model.load_state_dict(state)
    assert torch.equal(state['backbone.stem.bn.weight'], torch.ones(16))
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        a = fused.head.forward_maps(fused.neck(fused.backbone(x)))
        b = bn_model.head.forward_maps(bn_model.neck(bn_model.backbone(x)))
    for la, lb in zip(a, b):
        for ta, tb in zip(la, lb):
            torch.testing.assert_close(ta, tb, atol=1e-4, rtol=1e-4)


def _iou(a, b):
    lt = np.maximum(a[:2], b[:2])
    rb = np.minimum(a[2:], b[2:])
    inter = np.prod(np.clip(rb - lt, 0, None))
    return inter / (np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter)


@needs_weights
@pytest.mark.skipif(not osp.isdir(IMAGES), reason='people-mini not found')
def test_converted_p_reproduces_openvino_detections(converted):
    """The project's own inference (BottomupResize letter-box 640, decoding, NMS) on 4 people-mini val
    images against the OpenVINO IR's detections (tools/model_converters/openvino_reference.py)."""
    from mmpose.apis import inference_bottomup, init_model
    with open(REFERENCE) as f:
        ref = json.load(f)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'yolov8pose', 'yolov8pose-n_people-mini_pre.py'))
    cfg.model.init_cfg = None
    cfg.test_dataloader.dataset.pipeline[1].input_size = (640, 640)
    model = init_model(cfg, converted, device='cpu')
    matched = 0
    for image in ref['images']:
        pred = inference_bottomup(model, osp.join(IMAGES, image['file_name']))[0].pred_instances
        boxes, scores, kpts = pred.bboxes, pred.bbox_scores, pred.keypoints
        for rb, rs, rk in zip(np.array(image['bboxes']), image['scores'], np.array(image['keypoints'])):
            ious = np.array([_iou(rb, b) for b in boxes])
            j = int(ious.argmax())
            assert ious[j] > 0.9, (image['file_name'], rb, ious.max())
            assert abs(float(scores[j]) - rs) < 0.08, (image['file_name'], float(scores[j]), rs)
            # keypoint visibilities agree; keypoints OpenVINO deems visible are within 2 px (or 2 % of
            # the person's size: INT8 activations there, float here)
            assert np.abs(pred.keypoint_scores[j] - rk[:, 2]).max() < 0.15
            vis = rk[:, 2] > 0.5
            if vis.any():
                err = np.linalg.norm(kpts[j][vis] - rk[vis, :2], axis=1)
                scale = np.sqrt(np.prod(rb[2:] - rb[:2]))
                assert np.median(err) < max(2.0, 0.02 * scale), (image['file_name'], np.median(err))
            matched += 1
    assert matched >= 10


@needs_weights
def test_bad_inputs_one_line_exit_2(tmp_path, source, capsys):
    tool = _tool()

    def run(src, out, *extra):
        code = tool.main([str(src), str(out), *extra])
        err = capsys.readouterr().err.strip()
        return code, err

    out = tmp_path / 'out.pth'
    # not a YOLOv8-pose state dict
    other = tmp_path / 'other.npz'
    np.savez(other, **{'backbone.conv.weight': np.zeros((3, 3, 1, 1), np.float32)})
    code, err = run(other, out)
    assert code == 2 and err.startswith('error:') and 'YOLOv8-pose' in err and '\n' not in err
    # a key of a module YOLOv8-pose does not have
    extra = dict({k: v.numpy() for k, v in source.items()}, **{'model.10.conv.weight': np.zeros(1)})
    np.savez(tmp_path / 'extra.npz', **extra)
    code, err = run(tmp_path / 'extra.npz', out)
    assert code == 2 and 'model.10' in err
    # a missing weight
    missing = {k: v.numpy() for k, v in source.items() if k != 'model.21.cv2.conv.bias'}
    np.savez(tmp_path / 'missing.npz', **missing)
    code, err = run(tmp_path / 'missing.npz', out)
    assert code == 2 and 'conv without bias' in err
    # n weights for an s config
    s_cfg = tmp_path / 's.py'
    s_cfg.write_text(f"_base_ = ['{osp.join(ROOT, 'configs', '_base_', 'pose', 'yolov8pose_s_coco.py')}']\n"
                     "pose_estimator = dict(backbone=dict(norm_cfg=None), neck=dict(norm_cfg=None),"
                     " head=dict(norm_cfg=None))\n")
    code, err = run(NPZ, out, '--config', str(s_cfg))
    assert code == 2 and 'shape' in err
    # 17 keypoints into a 16-keypoint (MPII) P
    code, err = run(NPZ, out, '--config', osp.join(ROOT, 'configs', '_base_', 'pose', 'yolov8pose_n_mpii.py'))
    assert code == 2 and 'keypoints' in err
    # unreadable files
    (tmp_path / 'junk.pt').write_bytes(b'not a checkpoint')
    code, err = run(tmp_path / 'junk.pt', out)
    assert code == 2 and 'not a readable checkpoint' in err
    code, err = run(tmp_path / 'absent.npz', out)
    assert code == 2 and 'not found' in err
    assert not out.exists()
    # an existing output is kept unless --force
    out.write_bytes(b'precious')
    code, err = run(NPZ, out)
    assert code == 2 and '--force' in err and out.read_bytes() == b'precious'
    assert run(NPZ, out, '--force')[0] == 0
    assert torch.load(out, map_location='cpu', weights_only=False)['meta']['num_keypoints'] == 17
    assert not list(tmp_path.glob('.out.part-*'))


def test_plain_state_dict_pt_is_read(tmp_path):
    tool = _tool()
    sd = {'model.0.conv.weight': torch.zeros(1)}
    torch.save(sd, tmp_path / 'sd.pt')
    assert set(tool.read_source(str(tmp_path / 'sd.pt'))) == set(sd)
    torch.save({'model': sd, 'epoch': 3}, tmp_path / 'wrapped.pt')
    assert set(tool.read_source(str(tmp_path / 'wrapped.pt'))) == set(sd)


def test_conversion_error_names_the_key():
    with pytest.raises(ConversionError, match='not a YOLOv8 key'):
        convert_state_dict({'model.22.cv4.0.0.conv.weight': torch.zeros(1), 'foo': torch.zeros(1)},
                           torch.nn.Module(), num_keypoints=17)
