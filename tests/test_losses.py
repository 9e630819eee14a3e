"""GANLoss, ThresholdL1Loss (eq. 4) and ConsistencyLoss (eq. 8)."""
import math

import numpy as np
import pytest
import torch
from mmpose.registry import MODELS

from mmrecanon.models.losses import ConsistencyLoss, GANLoss, ThresholdL1Loss

# logits used throughout: 0.5, -1, 2, 0
PRED = torch.tensor([[[[0.5, -1.0], [2.0, 0.0]]]])
VALS = (0.5, -1.0, 2.0, 0.0)


def _softplus(v):
    return math.log1p(math.exp(v))


def test_lsgan_values():
    loss = GANLoss('lsgan')
    # real: ((0.5-1)^2 + (-2)^2 + 1^2 + 1^2) / 4
    assert loss(PRED, True, is_disc=True).item() == pytest.approx(1.5625)
    # fake: (0.25 + 1 + 4 + 0) / 4
    assert loss(PRED, False, is_disc=True).item() == pytest.approx(1.3125)
    smooth = GANLoss('lsgan', real_label_val=0.9)
    # (0.4^2 + 1.9^2 + 1.1^2 + 0.9^2) / 4
    assert smooth(PRED, True, is_disc=True).item() == pytest.approx(1.4475)


def test_vanilla_values():
    loss = GANLoss('vanilla')
    # BCE-with-logits: real -> softplus(-x), fake -> softplus(x)
    real = sum(_softplus(-v) for v in VALS) / 4
    fake = sum(_softplus(v) for v in VALS) / 4
    assert real == pytest.approx(0.6518535, abs=1e-6)
    assert loss(PRED, True, is_disc=True).item() == pytest.approx(real)
    assert loss(PRED, False, is_disc=True).item() == pytest.approx(fake)
    assert fake == pytest.approx(1.0268535, abs=1e-6)


def test_hinge_values():
    loss = GANLoss('hinge')
    # D real: relu(1 - x) = 0.5, 2, 0, 1
    assert loss(PRED, True, is_disc=True).item() == pytest.approx(0.875)
    # D fake: relu(1 + x) = 1.5, 0, 3, 1
    assert loss(PRED, False, is_disc=True).item() == pytest.approx(1.375)
    # G: -mean(x)
    assert loss(PRED, True).item() == pytest.approx(-0.375)
    with pytest.raises(ValueError, match='target_is_real=True'):
        loss(PRED, False)


@pytest.mark.parametrize('gan_type,disc_real,gen', [
    ('lsgan', 1.5625, 1.5625),
    ('vanilla', 0.6518535, 0.6518535),
    ('hinge', 0.875, -0.375),
])
def test_loss_weight_only_for_generator(gan_type, disc_real, gen):
    loss = GANLoss(gan_type, loss_weight=2.0)
    assert loss(PRED, True, is_disc=True).item() == pytest.approx(
        disc_real, abs=1e-6)
    assert loss(PRED, True, is_disc=False).item() == pytest.approx(
        2 * gen, abs=1e-6)


def test_gan_loss_bad_inputs():
    with pytest.raises(ValueError, match='gan_type must be one of'):
        GANLoss('wgan')
    with pytest.raises(TypeError, match='target_is_real must be bool'):
        GANLoss()(PRED, 1)
    with pytest.raises(TypeError, match='floating-point Tensor'):
        GANLoss()(PRED.long(), True)


def _pair():
    # sample 0: e = 0.125 < T; sample 1: e = (0.5+0.75+0.25+0.125)/4
    pred = torch.zeros(2, 1, 2, 2, requires_grad=True)
    target = torch.tensor([[[[0.125, 0.125], [0.125, 0.125]]],
                           [[[0.5, 0.75], [-0.25, 0.125]]]])
    return pred, target


def test_threshold_l1_sample_level_value_and_gradient():
    loss = ThresholdL1Loss(threshold=0.25)
    pred, target = _pair()
    val = loss(pred, target)
    # mean(0 * [0.125 >= T], 0.40625 * [0.40625 >= T])
    assert val.item() == pytest.approx(0.40625 / 2)
    val.backward()
    assert torch.all(pred.grad[0] == 0)  # below T: no gradient
    # 1/N * 1/HW * sign(pred - target)
    expected = torch.tensor([[[-0.125, -0.125], [0.125, -0.125]]])
    assert torch.equal(pred.grad[1], expected)
    # e == T exactly is counted, just below is free
    z = torch.zeros(1, 4)
    assert loss(z, torch.full((1, 4), 0.25)).item() == 0.25
    assert loss(z, torch.full((1, 4), 0.2499)).item() == 0.0
    # loss_weight scales
    w2 = ThresholdL1Loss(threshold=0.25, loss_weight=2.0)
    assert w2(*_pair()).item() == pytest.approx(0.40625)


def test_threshold_l1_pixel_level():
    loss = ThresholdL1Loss(threshold=0.25, reduction_level='pixel')
    pred, target = _pair()
    val = loss(pred, target)
    # kept elements: 0.5, 0.75, 0.25 (== T); all 0.125 dropped; 8 elements
    assert val.item() == pytest.approx(1.5 / 8)
    val.backward()
    expected = torch.zeros(2, 1, 2, 2)
    expected[1, 0] = torch.tensor([[-1, -1], [1, 0]]) / 8
    assert torch.equal(pred.grad, expected)


def test_threshold_l1_weight_mask():
    loss = ThresholdL1Loss(threshold=0.25)
    pred, target = _pair()
    weight = torch.tensor([1., 1., 1., 1., 1., 1., 0., 0.]).view(2, 1, 2, 2)
    # sample 1 keeps 0.5, 0.75 -> e = 0.625; sample 0 still 0.125 < T
    assert loss(pred, target, weight).item() == pytest.approx(0.625 / 2)
    pix = ThresholdL1Loss(threshold=0.25, reduction_level='pixel')
    assert pix(pred, target, weight).item() == pytest.approx(1.25 / 6)


def test_threshold_l1_bad_inputs():
    loss = ThresholdL1Loss()
    with pytest.raises(ValueError, match=r'pred shape \(2, 3\) != target'):
        loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='does not broadcast'):
        loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(3, 3))
    with pytest.raises(ValueError, match="'sample' or 'pixel'"):
        ThresholdL1Loss(reduction_level='image')
    assert ThresholdL1Loss().threshold == 0.05  # documented default


def test_consistency_loss_value():
    rec = torch.tensor([[[[0.5, -0.5], [0.25, 1.0]]]])
    orig = torch.tensor([[[[0.0, 0.0], [0.0, 0.5]]]])
    # 10 * (0.5 + 0.5 + 0.25 + 0.5) / 4
    assert ConsistencyLoss()(rec, orig).item() == pytest.approx(4.375)
    assert ConsistencyLoss(loss_weight=1.0)(rec, orig).item() == 0.4375
    with pytest.raises(ValueError, match='recovered shape'):
        ConsistencyLoss()(rec, orig[..., :1])


def test_consistency_ssim_term_is_the_metric_ssim():
    """The SSIM term is PortraitQualityMetric's SSIM (skimage) on the same crops, and it adds w·(1 − SSIM)."""
    from mmrecanon.evaluation.metrics.portrait_quality import PortraitQualityMetric
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48]
    base = np.stack([np.sin(xx / 5.) * 60 + 120, np.cos(yy / 7.) * 50 + 110, (xx + yy) * 2.], -1)
    orig8 = np.clip(base, 0, 255).astype(np.uint8)
    rec8 = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    want = PortraitQualityMetric.ssim(orig8, rec8)
    assert 0.5 < want < 0.95  # a crop where the term has something to say

    def t(a):
        return torch.from_numpy(a.astype(np.float32) / 127.5 - 1.).permute(2, 0, 1)[None]

    got = ConsistencyLoss.ssim(t(rec8), t(orig8)).item()
    assert got == pytest.approx(want, abs=2e-4)
    l1 = (t(rec8) - t(orig8)).abs().mean().item()
    loss = ConsistencyLoss(loss_weight=100., ssim_weight=0.5)(t(rec8), t(orig8)).item()
    assert loss == pytest.approx(100. * (l1 + 0.5 * (1. - got)), rel=1e-5)
    assert ConsistencyLoss(loss_weight=1., ssim_weight=3.)(t(orig8), t(orig8)).item() == pytest.approx(0., abs=1e-6)
    with pytest.raises(ValueError, match='at least 11 x 11'):
        ConsistencyLoss(ssim_weight=1.)(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match='ssim_weight must be >= 0'):
        ConsistencyLoss(ssim_weight=-1.)


def test_losses_registered():
    for name in ('GANLoss', 'ThresholdL1Loss', 'ConsistencyLoss'):
        assert MODELS.get(name) is not None
    assert isinstance(MODELS.build(dict(type='GANLoss', gan_type='hinge')),
                      GANLoss)
