"""tools/train.py end to end: configs build, checkpoints resume exactly, 2-process gloo training."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import mmrecanon  # noqa: F401
from mmpose.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
TINY_CFG = 'tests/configs/recanon_tiny.py'
PY = sys.executable


@pytest.mark.parametrize('cfg', ['recanon_blur_coco', 'recanon_pixel_coco', 'recanon_blur_mpii',
                                 'recanon_pixel_mpii'])
def test_paper_configs_build(cfg):
    c = Config.fromfile(f'configs/{cfg}.py')
    assert c.model.type == 'ReCanon'
    assert c.train_dataloader.batch_size == 16
    assert c.model.portrait_size == 256 and c.model.enhancer.num_downs == 8
    kind = 'blur' if 'blur' in cfg else 'pixelate'
    assert c.model.desensitizer.kind == kind
    assert (c.model.desensitizer.get('radius') if kind == 'blur' else c.model.desensitizer.block) == \
        (8 if kind == 'blur' else 12)
    assert c.optim_wrapper.enhancer.optimizer.type == 'Adam'
    assert c.optim_wrapper.pose_estimator.optimizer.type == 'AdamW'
    assert c.optim_wrapper.enhancer.optimizer.lr == pytest.approx(3.5e-5)
    model = MODELS.build(c.model)
    num_kpts = 16 if 'mpii' in cfg else 17
    assert model.pose_estimator.head.num_keypoints == num_kpts
    for net in ('enhancer', 'recoverer', 'disc_enhanced', 'disc_recovered', 'pose_estimator'):
        assert sum(p.numel() for p in getattr(model, net).parameters()) > 0


def test_ablation_configs_change_one_thing():
    blur = {r: Config.fromfile(f'configs/ablations/recanon_blur-r{r}_coco.py').model.desensitizer
            for r in (2, 4, 8, 12)}
    assert {r: d.radius for r, d in blur.items()} == {2: 2, 4: 4, 8: 8, 12: 12}
    pixel = {r: Config.fromfile(f'configs/ablations/recanon_pixel-r{r}_coco.py').model.desensitizer
             for r in (4, 8, 12, 16)}
    assert {r: (d.kind, d.block) for r, d in pixel.items()} == {r: ('pixelate', r) for r in (4, 8, 12, 16)}
    res9 = Config.fromfile('configs/ablations/recanon_blur-resnet9_coco.py').model
    assert res9.enhancer == dict(type='ResnetGenerator', num_blocks=9)
    assert Config.fromfile('configs/ablations/recanon_blur-unet7_coco.py').model.recoverer.num_downs == 7


def test_switching_p_is_one_base_line(tmp_path):
    src = (ROOT / 'configs' / 'recanon_blur_coco.py').read_text()
    line = "'./_base_/pose/yolov8pose_s_coco.py'"
    assert src.count(line) == 1
    alt = tmp_path / 'alt.py'
    alt.write_text(src.replace(line, f"'{ROOT}/configs/_base_/pose/rtmpose_t_coco.py'")
                   .replace("'./_base_/", f"'{ROOT}/configs/_base_/"))
    c = Config.fromfile(str(alt))
    assert c.model.pose_mode == 'topdown' and c.model.pose_estimator.type == 'TopdownPoseEstimator'
    assert Config.fromfile('configs/recanon_blur_coco.py').model.pose_mode == 'bottomup'


def _train(work_dir, *extra, env=None):
    cmd = [PY, 'tools/train.py', TINY_CFG, '--work-dir', str(work_dir), *extra]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _losses(work_dir):
    scalars = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))[-1]
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return {r['iter']: r for r in rows if 'loss' in r}


def test_checkpoint_resumes_exactly(tmp_path, tiny_coco):
    opts = ['--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=100',
            'default_hooks.checkpoint.interval=2']
    _train(tmp_path / 'full', *opts)
    full = _losses(tmp_path / 'full')
    assert sorted(full) == [1, 2, 3, 4]
    ckpt = tmp_path / 'full' / 'iter_2.pth'
    assert ckpt.is_file() and (tmp_path / 'full' / 'iter_4.pth').is_file()
    state = torch.load(ckpt, map_location='cpu')
    assert set(state['optimizer']) == {'enhancer', 'recoverer', 'disc_enhanced', 'disc_recovered',
                                       'pose_estimator'}
    _train(tmp_path / 'resumed', '--resume', str(ckpt), *opts)
    resumed = _losses(tmp_path / 'resumed')
    assert sorted(resumed) == [3, 4]
    for it in (3, 4):
        for key in ('loss', 'loss_d_y', 'loss_d_x', 'loss_g_x', 'loss_xy', 'loss_g_y', 'loss_cons'):
            assert resumed[it][key] == pytest.approx(full[it][key], rel=1e-5, abs=1e-6), (it, key)


def test_missing_config_or_checkpoint_is_one_line_error(tmp_path):
    out = subprocess.run([PY, 'tools/train.py', 'configs/nope.py'], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.strip().count('\n') == 0
    assert 'config file not found' in out.stderr
    out = subprocess.run([PY, 'tools/train.py', TINY_CFG, '--resume', str(tmp_path / 'x.pth')], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 2 and 'checkpoint to resume from not found' in out.stderr
    assert 'Traceback' not in out.stderr


def test_two_process_gloo_training_keeps_replicas_identical(tmp_path, tiny_coco):
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(f"_base_ = ['{ROOT / TINY_CFG}']\n"
                   "custom_imports = dict(imports=['dist_checksum_hook'], allow_failed_imports=False)\n"
                   "custom_hooks = [dict(type='ParamChecksumHook')]\n")
    env = dict(os.environ, PORT='29517', PYTHONPATH=str(ROOT / 'tests'), OMP_NUM_THREADS='1')
    out = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir', str(tmp_path), '--cfg-options',
         'env_cfg.dist_cfg.backend=gloo', 'train_cfg.max_iters=2', 'train_cfg.val_interval=100'],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    sums = [json.loads((tmp_path / f'checksum_rank{r}.json').read_text()) for r in (0, 1)]
    assert sums[0]['world_size'] == sums[1]['world_size'] == 2
    assert sums[0]['params'] == sums[1]['params']          # replicas stayed in sync
    assert sums[0]['params'] != sums[0]['initial']          # and they did train
    assert sums[0]['batch'] != sums[1]['batch']             # each rank saw its own data shard


def test_loss_trend_summarises_scalars(tmp_path):
    sys.path.insert(0, str(ROOT / 'tools' / 'analysis'))
    import loss_trend
    run = tmp_path / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    rows = [dict(iter=i, step=i, loss=10.0 - i, loss_xy=2.0 * i, lr=1e-3) for i in range(1, 7)]
    (run / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows) + '\n{"coco/AP": 0.5, "step": 6}\n')
    out = tmp_path / 'trend.md'
    assert loss_trend.main([str(tmp_path), '--window', '2', '--out', str(out)]) == 0
    data = json.loads(out.with_suffix('.json').read_text())
    assert data['losses']['loss'] == dict(first=8.5, last=4.5, change=pytest.approx(-4 / 8.5), n=6)
    assert data['losses']['loss_xy']['first'] == 3.0 and data['losses']['loss_xy']['last'] == 11.0
    assert 'lr' not in data['losses'] and data['steps'] == [1, 6]
    assert loss_trend.main([str(tmp_path / 'missing')]) == 2
