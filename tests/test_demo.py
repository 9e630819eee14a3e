"""The README's main job (tools/demo.py) and the demo checkpoint it ships."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))

import demo  # noqa: E402
import make_demo_checkpoint  # noqa: E402


def test_slim_checkpoint_keeps_the_generators_in_fp16_and_p_only_on_request(tmp_path):
    from mmpose.registry import MODELS
    from mmrecanon.apis import init_recanon
    cfg = Config.fromfile('tests/configs/recanon_tiny.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    full = tmp_path / 'full.pth'
    torch.save(dict(state_dict=model.state_dict(), optimizer={'enhancer': {}}, meta=dict(iter=4, seed=0)), full)
    out = tmp_path / 'demo.pth'
    make_demo_checkpoint.main([str(full), '--out', str(out)])
    slim = torch.load(out, map_location='cpu')
    assert set(slim) == {'state_dict', 'meta'} and slim['meta']['mmrecanon_demo_asset']
    prefixes = {k.split('.')[0] for k in slim['state_dict']}
    assert prefixes == {'enhancer', 'recoverer'}  # P (AGPL-3.0 once fine-tuned from YOLOv8) is left out
    assert all(v.dtype == torch.float16 for v in slim['state_dict'].values() if v.is_floating_point())
    cfg_file = tmp_path / 'cfg.py'
    cfg.dump(str(cfg_file))
    with pytest.raises(ValueError, match='missing'):  # without P's weights the model is incomplete ...
        init_recanon(str(cfg_file), str(out))
    pose = tmp_path / 'pose.pth'  # ... which come from their own file (the converter's output)
    torch.save(dict(state_dict=model.pose_estimator.state_dict()), pose)
    loaded = init_recanon(str(cfg_file), str(out), pose_checkpoint=str(pose))
    for k, v in loaded.pose_estimator.state_dict().items():
        assert torch.equal(v, model.pose_estimator.state_dict()[k]), k
    with_pose = tmp_path / 'demo_p.pth'
    make_demo_checkpoint.main([str(full), '--out', str(with_pose), '--with-pose'])
    assert 'pose_estimator' in {k.split('.')[0] for k in torch.load(with_pose)['state_dict']}
    assert loaded.can_recover
    w = model.enhancer.state_dict()
    for k, v in loaded.enhancer.state_dict().items():
        assert v.dtype == w[k].dtype and torch.allclose(v, w[k], atol=1e-3, rtol=1e-3), k
    with pytest.raises(SystemExit):
        make_demo_checkpoint.main([str(tmp_path / 'missing.pth')])


RECOVERY_FLOOR_DB = {'astronaut': 25.5, 'cameraman': 29.8}


@pytest.mark.skipif(not (ROOT / demo.ASSET).is_file(), reason='no demo checkpoint shipped')
def test_demo_runs_on_embedded_photos(tmp_path):
    demo.main(['--out', str(tmp_path)])
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['checkpoint'] == demo.ASSET and set(metrics['images']) == set(demo.SAMPLES)
    for name, row in metrics['images'].items():
        panel = (tmp_path / f'{name}.png')
        assert panel.is_file() and panel.stat().st_size > 10_000
        # the privacy-enhanced portrait is far from the original, the recovered one closer
        assert row['psnr_o_r'] > row['psnr_o_p']
        # the shipped asset's recovery (results/people-mini-demo.md: 25.78 and 30.32 dB since 2026-12-07), less a margin
        assert row['psnr_o_r'] > RECOVERY_FLOOR_DB[name], (name, row['psnr_o_r'])
        # y' shows no more than A(x) (the carrier lives in the Haar detail bands)
        assert row['psnr_o_p'] <= row['psnr_o_A'] + 0.5
        assert 0 < row['ssim_o_p'] < 1 and 0 < row['ssim_o_r'] < 1
    import cv2
    img = cv2.imread(str(tmp_path / 'astronaut.png'))
    assert img.shape[1] == 4 * img.shape[0]  # four 512×512 views side by side
    assert not np.array_equal(img[:, :512], img[:, 1024:1536])


@pytest.mark.skipif(not (ROOT / demo.ASSET).is_file(), reason='no demo checkpoint shipped')
def test_demo_without_p_weights_still_recovers(tmp_path, monkeypatch):
    """No P weights anywhere (no converter output, no shared weights): the demo loads G_X/G_Y/B alone
    (init_recanon(with_pose=False)), never runs P's untrained weights, and recovers as with P."""
    monkeypatch.setattr(demo, 'pose_weights', lambda: None)
    demo.main(['--out', str(tmp_path)])
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['pose_checkpoint'] is None
    for name, row in metrics['images'].items():
        assert not any(k.startswith('people_found') for k in row)  # no poses without P
        assert row['psnr_o_r'] > RECOVERY_FLOOR_DB[name], (name, row['psnr_o_r'])
