"""HaarCarrier (y' = A(x) + π(D(b·G_X(x)))), residual recovery, P-free training and the visible-leak metric."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.filters import gaussian
from skimage.metrics import peak_signal_noise_ratio

import mmrecanon  # noqa: F401
from mmrecanon.evaluation.metrics.portrait_quality import PortraitQualityMetric
from mmrecanon.models.utils.carrier import HaarCarrier
from mmrecanon.models.utils.keylock import haar2d, ihaar2d, random_keys


def _blocky(n=2, size=16, seed=0):
    """A(x) stand-in whose Haar details are exactly zero (constant 2×2 blocks)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, size // 2, size // 2, generator=g) * 1.6 - 0.8
    return F.interpolate(low, scale_factor=2, mode='nearest')


def test_lock_keeps_the_low_band_of_A_and_bounds_the_carrier():
    torch.manual_seed(0)
    carrier = HaarCarrier(bound=0.1)
    a = torch.rand(2, 3, 16, 16) * 2 - 1
    g = torch.tanh(3 * torch.randn(2, 3, 16, 16))
    y = carrier.lock(g, a)
    torch.testing.assert_close(haar2d(y)[0], haar2d(a)[0], atol=1e-6, rtol=0)
    # each pixel of the carrier is (±d1 ± d2 ± d3) / 2 with |d| <= 2b
    assert (y - a).abs().max() <= 3 * 0.1 + 1e-6
    # every 2×2 block of the carrier has mean 0
    assert F.avg_pool2d(y - a, 2).abs().max() < 1e-6


def test_unlock_puts_the_carrier_back_in_place():
    torch.manual_seed(1)
    carrier = HaarCarrier(bound=0.2)
    a = _blocky()
    g = torch.tanh(torch.randn(2, 3, 16, 16))
    u = carrier.unlock(carrier.lock(g, a))
    # u = A(x) + the detail part of b·g, where G_X put it (A has no details here)
    low, det = haar2d(0.2 * g)
    torch.testing.assert_close(u, a + ihaar2d(torch.zeros_like(low), det), atol=1e-5, rtol=0)


def test_the_scramble_moves_the_carrier():
    """Sent as it is, the carrier does not sit where G_X put it: the public scramble decorrelates it."""
    carrier = HaarCarrier(bound=0.1)
    a = _blocky(n=1, size=32)
    g = torch.zeros(1, 3, 32, 32)
    g[..., 8:24, 8:24] = torch.tensor([1.0, -1.0]).repeat(8)  # a striped patch in the middle
    sent = carrier.lock(g, a) - a
    plain = ihaar2d(torch.zeros(1, 3, 16, 16), haar2d(0.1 * g)[1])
    corr = float((sent * plain).sum() / (sent.norm() * plain.norm()))
    assert abs(corr) < 0.05
    torch.testing.assert_close(sent.norm(), plain.norm(), atol=1e-5, rtol=1e-5)  # orthonormal: same energy
    torch.testing.assert_close(carrier.lock(g, a), HaarCarrier(bound=0.1).lock(g, a))  # public: fixed


def test_keyed_carrier_needs_the_key():
    carrier = HaarCarrier(bound=0.1, keyed=True)
    a = _blocky()
    g = torch.tanh(torch.randn(2, 3, 16, 16))
    keys, nonces = random_keys(2, torch.Generator().manual_seed(3))
    wrong, _ = random_keys(2, torch.Generator().manual_seed(4))
    y = carrier.lock(g, a, keys, nonces)
    right = carrier.unlock(y, keys, nonces)
    expected = a + ihaar2d(torch.zeros(2, 3, 8, 8), haar2d(0.1 * g)[1])
    torch.testing.assert_close(right, expected, atol=1e-5, rtol=0)
    assert (carrier.unlock(y, wrong, nonces) - expected).abs().mean() > 0.02
    assert torch.equal(carrier.unlock(y, None, None), y)  # no key: y' as it is
    with pytest.raises(ValueError):
        HaarCarrier(bound=0)


def _recanon(**kw):
    from mmengine.config import Config
    from mmpose.registry import MODELS
    cfg = Config.fromfile('configs/cpu/recanon-carrier_blur_people-mini_portraits.py').model
    cfg.update(kw)
    cfg.enhancer.update(num_downs=5, base_channels=4)
    cfg.recoverer.update(num_downs=5, base_channels=4)
    cfg.portrait_size = 32
    return MODELS.build(cfg)


def test_recanon_with_carrier_residual_recovery_and_no_pose_loss():
    torch.manual_seed(0)
    model = _recanon()
    assert model.carrier is not None and model.key_lock is None and not model.adversarial
    assert not model.trains_pose_loss and not hasattr(model, 'disc_enhanced')
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = model.translate(x)
    # y' = quantised A(x) + carrier; its low band is A(x)'s up to the 8-bit rounding
    assert (haar2d(out['enhanced'])[0] - haar2d(out['conventional'])[0]).abs().max() < 2 / 127.5
    u = model.carrier.unlock(out['enhanced'])
    torch.testing.assert_close(out['recovered'], (u + model.recoverer(u)).clamp(-1, 1))
    # P-free loss: only the L1 terms, no GAN, no pose terms
    imgs = torch.full((1, 3, 64, 64), 128.0)
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample
    ds = PoseDataSample(gt_instances=InstanceData(bboxes=torch.tensor([[10., 10., 40., 50.]])))
    boxes = model.portrait_boxes([ds], use_meta=False)
    xs = model.crop(imgs, boxes)
    losses = model.generator_losses(imgs, [ds], xs, boxes, model.translate(xs))
    assert set(losses) == {'loss_xy', 'loss_cons'}


def test_key_locked_carrier_is_the_key_lock():
    model = _recanon(carrier=dict(type='HaarCarrier', bound=0.1, keyed=True))
    assert model.key_lock is model.carrier
    with pytest.raises(ValueError, match='key-locked'):
        model.enhance(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match='exclusive'):
        _recanon(key_lock=dict(type='KeyedCarrier'))


def test_visible_leak_metric_by_hand():
    rng = np.random.default_rng(0)
    o = rng.integers(0, 256, (1, 24, 24, 3), dtype=np.uint8)
    a = np.clip(gaussian(o[0].astype(float), sigma=3, channel_axis=-1, preserve_range=True), 0, 255)
    a = np.round(a).astype(np.uint8)[None]
    p = np.clip(a.astype(int) + (o.astype(int) - a) // 2, 0, 255).astype(np.uint8)  # halfway back to o
    metric = PortraitQualityMetric()
    metric.process({}, [dict(portraits=dict(original=o, conventional=a, enhanced=p))])
    res = metric.compute_metrics(metric.results)

    def lp_psnr(v):
        low = np.round(gaussian(v[0].astype(float), sigma=2, channel_axis=-1, preserve_range=True,
                                mode='reflect', truncate=4.0)).clip(0, 255).astype(np.uint8)
        return peak_signal_noise_ratio(o[0], low, data_range=255)

    assert res['psnr_lp_o_p'] == pytest.approx(lp_psnr(p))
    assert res['psnr_lp_o_A'] == pytest.approx(lp_psnr(a))
    assert res['leak_db'] == pytest.approx(lp_psnr(p) - lp_psnr(a))
    assert res['leak_db'] > 0.1  # p leaks o's content through the low-pass


def test_enable_amp_turns_every_network_wrapper_into_amp(monkeypatch):
    """--amp on a ReCanon config (one wrapper per network). Building AmpOptimWrapper needs CUDA, so the
    config tree is checked here; a GPU run builds it."""
    from mmrecanon.runtime import enable_amp, load_config
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = load_config('configs/cpu/recanon_blur_people-mini.py')
    enable_amp(cfg)
    ow = cfg.optim_wrapper
    assert ow.constructor == 'PerNetworkOptimWrapperConstructor' and 'type' not in ow
    for name in ('enhancer', 'recoverer', 'disc_enhanced', 'disc_recovered', 'pose_estimator'):
        assert ow[name].type == 'AmpOptimWrapper' and ow[name].loss_scale == 'dynamic'


def test_time_budget_hook_stops_with_a_checkpoint(tmp_path):
    from types import SimpleNamespace
    from mmrecanon.engine import TrainTimeBudgetHook
    saved = []
    runner = SimpleNamespace(
        epoch=4, iter=199, work_dir=str(tmp_path), train_loop=SimpleNamespace(stop_training=False),
        logger=SimpleNamespace(info=lambda msg: None),
        message_hub=SimpleNamespace(update_info=lambda k, v: None),
        save_checkpoint=lambda d, name, **kw: saved.append(name))
    hook = TrainTimeBudgetHook(minutes=1, clock='wall')
    hook.elapsed_s = 30.0  # resumed from a checkpoint with 30 s of training
    hook.before_train_epoch(runner)
    hook.after_train_epoch(runner)
    assert not runner.train_loop.stop_training and saved == []
    hook.elapsed_s = 61.0
    hook.before_train_epoch(runner)
    hook.after_train_epoch(runner)
    assert runner.train_loop.stop_training and saved == ['epoch_5.pth']
    # a plain --resume continues from the hook's checkpoint
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_5.pth')
    ckpt = {'meta': {}}
    hook.before_save_checkpoint(runner, ckpt)
    other = TrainTimeBudgetHook(minutes=1)
    runner._resume = True  # resuming continues the budget ...
    other.after_load_checkpoint(runner, ckpt)
    assert other.elapsed_s == hook.elapsed_s and other.clock == 'process'
    fresh = TrainTimeBudgetHook(minutes=1)
    runner._resume = False  # ... starting from another run's weights (load_from) does not
    fresh.after_load_checkpoint(runner, ckpt)
    assert fresh.elapsed_s == 0.0
    with pytest.raises(ValueError):
        TrainTimeBudgetHook(minutes=1, clock='gpu')
