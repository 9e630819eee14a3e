"""Deployment of G_X (and P) with MMDeploy: tools/deploy.py, mmrecanon/deploy/enhancer.py."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine import Config

import mmrecanon  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / '..' / 'shared' / 'data' / 'mmpose-tiny'
IMG_785 = TINY / 'coco' / '000000000785.jpg'
IMG_196141 = TINY / 'coco' / '000000196141.jpg'
DEPLOY = REPO / 'configs' / 'deploy'
CPU_CFG = REPO / 'configs' / 'cpu' / 'recanon_blur_people-mini.py'

needs_tiny = pytest.mark.skipif(not IMG_785.exists(),
                                reason='mmpose-tiny data not found at ../shared/data/mmpose-tiny')
ort = pytest.importorskip('onnxruntime')
pytest.importorskip('mmdeploy')


def _tool():
    spec = importlib.util.spec_from_file_location('mmrecanon_tools_deploy', REPO / 'tools' / 'deploy.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


deploy_tool = _tool()


def _model_cfg(enhancer: dict) -> Config:
    cfg = Config.fromfile(str(CPU_CFG))
    cfg.model.enhancer = enhancer
    return cfg


def _checkpoint(cfg: Config, path: Path) -> torch.nn.Module:
    """A ReCanon-style checkpoint (``enhancer.*`` keys + a decoy G_Y key) with non-trivial weights."""
    from mmpose.registry import MODELS
    torch.manual_seed(0)
    g = MODELS.build(cfg.model.enhancer)
    for m in g.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                torch.nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, torch.nn.BatchNorm2d):  # eval BN: running statistics matter
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    state = {f'enhancer.{k}': v for k, v in g.state_dict().items()}
    state['recoverer.decoy'] = torch.zeros(1)
    torch.save(dict(state_dict=state), path)
    return g.eval()


def test_load_portraits_uses_coco_box_and_recanon_geometry():
    if not IMG_785.exists():
        pytest.skip('mmpose-tiny data not found at ../shared/data/mmpose-tiny')
    from mmrecanon.deploy.enhancer import coco_person_boxes, load_portraits
    boxes = coco_person_boxes(str(IMG_785))
    # test_coco.json: one person, bbox xywh [280.79, 44.73, 218.7, 346.68]
    np.testing.assert_allclose(boxes, [[280.79, 44.73, 499.49, 391.41]], atol=1e-3)
    x, squares = load_portraits(str(IMG_785), 128, margin=1.25)
    # centre (390.14, 218.07), side 346.68 * 1.25 = 433.35
    np.testing.assert_allclose(squares.numpy(), [[173.465, 1.395, 606.815, 434.745]], atol=1e-3)
    assert x.shape == (1, 3, 128, 128) and x.dtype == torch.float32
    assert -1.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.1  # a real photo, not padding
    # the portrait is the (antialiased) square region of the frame: same mean colour per channel
    # (up to roi_align's point sampling and the fractional box edges)
    import cv2
    region = cv2.imread(str(IMG_785))[1:435, 173:607].astype(np.float64) / 127.5 - 1
    np.testing.assert_allclose(x[0].mean(dim=(1, 2)).numpy(), region.mean(axis=(0, 1)), atol=0.02)


@needs_tiny
@pytest.mark.parametrize('enhancer', [
    dict(type='UnetGenerator', num_downs=7, base_channels=8),
    dict(type='ResnetGenerator', num_blocks=6, base_channels=8),
], ids=['unet7', 'resnet6'])
def test_export_enhancer_matches_pytorch_on_real_crop(tmp_path, enhancer):
    cfg = _model_cfg(enhancer)
    ref_g = _checkpoint(cfg, tmp_path / 'ckpt.pth')
    out = deploy_tool.deploy(str(DEPLOY / 'enhancer_onnxruntime_static-128x128.py'), cfg,
                             str(tmp_path / 'ckpt.pth'), str(tmp_path / 'work'), img=str(IMG_785),
                             verify=True, quantize=False)
    onnx_file = Path(out['onnx'])
    assert onnx_file.name == 'enhancer.onnx' and out['backend_files'] == [str(onnx_file)]
    assert out['n'] == 1 and out['max_abs_diff'] < 1e-3

    # independent check against the generator we saved (the checkpoint's G_X was loaded)
    from mmrecanon.deploy.enhancer import load_portraits
    x, _ = load_portraits(str(IMG_785), 128)
    sess = ort.InferenceSession(str(onnx_file), providers=['CPUExecutionProvider'])
    assert [i.name for i in sess.get_inputs()] == ['portraits']
    assert [o.name for o in sess.get_outputs()] == ['enhanced']
    assert sess.get_inputs()[0].shape == [1, 3, 128, 128]
    y_ort = sess.run(None, {'portraits': x.numpy()})[0]
    with torch.no_grad():
        y_ref = ref_g(x).numpy()
    assert y_ref.std() > 0.05  # a non-trivial output
    diff = np.abs(y_ort - y_ref).max()
    assert diff < 1e-3
    assert abs(diff - out['max_abs_diff']) < 1e-5


@needs_tiny
def test_quantized_export_emits_8bit_levels(tmp_path):
    cfg = _model_cfg(dict(type='UnetGenerator', num_downs=7, base_channels=8))
    ref_g = _checkpoint(cfg, tmp_path / 'ckpt.pth')
    out = deploy_tool.deploy(str(DEPLOY / 'enhancer_onnxruntime_static-128x128.py'), cfg,
                             str(tmp_path / 'ckpt.pth'), str(tmp_path / 'work'), img=str(IMG_785),
                             verify=True)
    assert out['quantize'] is True  # the deploy config's codebase_config.quantize
    from mmrecanon.deploy.enhancer import load_portraits
    x, _ = load_portraits(str(IMG_785), 128)
    sess = ort.InferenceSession(out['onnx'], providers=['CPUExecutionProvider'])
    y = sess.run(None, {'portraits': x.numpy()})[0]
    pixels = (y + 1.0) * 127.5
    np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-3)  # on the 256 levels
    assert pixels.min() >= -1e-3 and pixels.max() <= 255 + 1e-3
    with torch.no_grad():
        ref = np.round(np.clip((ref_g(x).numpy() + 1.0) * 127.5, 0, 255))
    # same level everywhere except rare float ties (then exactly one level off)
    assert np.abs(np.round(pixels) - ref).max() <= 1
    assert (np.round(pixels) != ref).mean() <= 1e-3
    assert out['level_mismatch'] <= 1e-3 and out['max_abs_diff'] <= 2 / 255 + 1e-6


@needs_tiny
def test_dynamic_batch_config_accepts_batch_3(tmp_path):
    from mmrecanon.deploy.enhancer import load_portraits
    cfg = _model_cfg(dict(type='ResnetGenerator', num_blocks=6, base_channels=8))
    ref_g = _checkpoint(cfg, tmp_path / 'ckpt.pth')
    out = deploy_tool.deploy(str(DEPLOY / 'enhancer_onnxruntime_dynamic.py'), cfg,
                             str(tmp_path / 'ckpt.pth'), str(tmp_path / 'work'), quantize=False)
    sess = ort.InferenceSession(out['onnx'], providers=['CPUExecutionProvider'])
    assert sess.get_inputs()[0].shape[0] == 'batch'
    x785, _ = load_portraits(str(IMG_785), 128)
    x196, _ = load_portraits(str(IMG_196141), 128)
    x = torch.cat([x785, x196])[:3]
    assert x.shape[0] == 3
    y = sess.run(None, {'portraits': x.numpy()})[0]
    assert y.shape == (3, 3, 128, 128)
    with torch.no_grad():
        ref = ref_g(x).numpy()
    assert np.abs(y - ref).max() < 1e-3


def test_tensorrt_configs_parse():
    enh = Config.fromfile(str(DEPLOY / 'enhancer_tensorrt_static-256x256.py'))
    assert enh.backend_config.type == 'tensorrt'
    assert enh.codebase_config.type == 'mmrecanon' and enh.onnx_config.input_shape == [256, 256]
    shapes = enh.backend_config.model_inputs[0].input_shapes
    assert list(shapes) == enh.onnx_config.input_names == ['portraits']
    assert shapes.portraits.min_shape == shapes.portraits.max_shape == [1, 3, 256, 256]

    pose = Config.fromfile(str(DEPLOY / 'pose-detection_yolov8pose_tensorrt_static-640x640.py'))
    assert pose.backend_config.type == 'tensorrt'
    assert (pose.codebase_config.type, pose.codebase_config.task) == ('mmpose', 'PoseDetection')
    assert pose.onnx_config.input_shape == [640, 640]
    assert pose.backend_config.model_inputs[0].input_shapes.input.opt_shape == [1, 3, 640, 640]
    assert pose.onnx_config.output_names == ['dets', 'keypoints']

    from mmdeploy.utils import Backend, get_backend, get_dynamic_axes, get_input_shape
    assert get_backend(enh) == Backend.TENSORRT and get_input_shape(pose) == [640, 640]
    dyn = Config.fromfile(str(DEPLOY / 'enhancer_onnxruntime_dynamic.py'))
    assert get_dynamic_axes(dyn) == {'portraits': {0: 'batch'}, 'enhanced': {0: 'batch'}}


def test_cli_errors_are_one_line_exit_2(tmp_path, capsys):
    static = str(DEPLOY / 'enhancer_onnxruntime_static-128x128.py')
    work = ['--work-dir', str(tmp_path / 'w')]
    # missing checkpoint
    assert deploy_tool.main([static, str(CPU_CFG), str(tmp_path / 'none.pth')] + work) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: checkpoint not found') and '\n' not in err
    # --part does not fit the deploy config
    ckpt = tmp_path / 'c.pth'
    torch.save({'state_dict': {}}, ckpt)
    assert deploy_tool.main([static, str(CPU_CFG), str(ckpt), '--part', 'pose'] + work) == 2
    assert 'does not fit this deploy config' in capsys.readouterr().err
    # a G_X for 128-px portraits with a 256-px deploy config
    trt = str(DEPLOY / 'enhancer_tensorrt_static-256x256.py')
    assert deploy_tool.main([trt, str(CPU_CFG), str(ckpt), '--device', 'cpu'] + work) == 2
    assert 'needs a GPU' in capsys.readouterr().err
    # checkpoint without G_X weights
    torch.save({'state_dict': {'recoverer.x': torch.zeros(1)}}, ckpt)
    assert deploy_tool.main([static, str(CPU_CFG), str(ckpt)] + work) == 2
    err = capsys.readouterr().err.strip()
    assert 'no G_X weights' in err and '\n' not in err


def test_portrait_size_mismatch_is_rejected(tmp_path):
    cfg = _model_cfg(dict(type='UnetGenerator', num_downs=7, base_channels=8))
    cfg.model.portrait_size = 256
    with pytest.raises(deploy_tool.DeployError, match='portrait_size 256'):
        deploy_tool.deploy(str(DEPLOY / 'enhancer_onnxruntime_static-128x128.py'), cfg, None,
                           str(tmp_path / 'w'))
