"""Generators G_X/G_Y (U-Net, ResNet) and the conditional PatchGAN D_Y/D_X."""
import pytest
import torch
import torch.nn as nn
from mmpose.registry import MODELS

from mmrecanon.models.discriminators import PatchDiscriminator
from mmrecanon.models.generators import (ResnetBlock, ResnetGenerator,
                                         UnetGenerator)


def _stride2_convs(model):
    return [
        m for m in model.modules()
        if isinstance(m, nn.Conv2d) and m.stride == (2, 2)
    ]


@pytest.mark.parametrize('num_downs,size', [(7, 128), (8, 256)])
def test_unet_shapes_bottleneck_and_depth(num_downs, size):
    torch.manual_seed(0)
    g = UnetGenerator(num_downs=num_downs, base_channels=8).eval()
    g.init_weights()
    downs = _stride2_convs(g)
    assert len(downs) == num_downs
    ups = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(ups) == num_downs
    # widths b, 2b, 4b, 8b, then 8b
    assert [c.out_channels for c in downs] == (
        [8, 16, 32] + [64] * (num_downs - 3))
    seen = {}
    downs[-1].register_forward_hook(
        lambda m, i, o: seen.__setitem__('inner', o.shape))
    x = torch.rand(2, 3, size, size) * 2 - 1
    with torch.no_grad():
        y = g(x)
    assert y.shape == x.shape
    assert y.min() >= -1 and y.max() <= 1
    assert seen['inner'] == (2, 64, 1, 1)


def test_unet_rejects_wrong_size_and_channels():
    g = UnetGenerator(num_downs=7, base_channels=8)
    with pytest.raises(ValueError, match='multiples of 128, got 96x128'):
        g(torch.zeros(1, 3, 96, 128))
    with pytest.raises(ValueError, match='expects 3 input channels, got 1'):
        g(torch.zeros(1, 1, 128, 128))
    with pytest.raises(ValueError, match='num_downs must be an int >= 5'):
        UnetGenerator(num_downs=4)


def test_unet_skip_connections_carry_information():
    torch.manual_seed(0)
    g = UnetGenerator(num_downs=7, base_channels=8).eval()
    g.init_weights()
    # outermost deconv reads cat(skip b, up b)
    ups = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert ups[-1].in_channels == 2 * 8 and ups[-1].out_channels == 3
    # 1) zero the 1x1 bottleneck: without skips the output would then be
    # the same for every input; with skips it still depends on the input.
    inner = _stride2_convs(g)[-1]
    h = inner.register_forward_hook(lambda m, i, o: torch.zeros_like(o))
    x1, x2 = torch.rand(2, 1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        d = (g(x1) - g(x2)).abs()
    h.remove()
    assert d.mean() > 1e-3
    # 2) locality: a top-left input change moves the top-left output (via
    # the shallow skips) far more than the bottom-right one (only reachable
    # through the deep levels)
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    xp = x.clone()
    xp[..., :2, :2] += 0.5
    with torch.no_grad():
        delta = (g(xp) - g(x)).abs()
    near = delta[..., :8, :8].mean()
    far = delta[..., -8:, -8:].mean()
    assert near > 1e-5 and near > 10 * far


def test_generator_init_cfg_normal_002():
    torch.manual_seed(0)
    for g in (UnetGenerator(num_downs=7, base_channels=8),
              ResnetGenerator(base_channels=8, num_blocks=6,
                              norm_cfg=dict(type='BN'))):
        g.init_weights()
        convs = [m for m in g.modules()
                 if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        for c in convs:
            # >= 384 samples: std estimate within ~4%; PyTorch/ConvModule
            # defaults give 0.03-0.13 for these layers
            assert abs(c.weight.std().item() - 0.02) < 0.003, c
            if c.bias is not None:
                assert torch.all(c.bias == 0)
        bn = torch.cat([m.weight.detach() for m in g.modules()
                        if isinstance(m, nn.BatchNorm2d)])
        assert abs(bn.mean().item() - 1) < 0.005
        assert 0.015 < bn.std().item() < 0.025


def test_registered_in_mmpose_models():
    g = MODELS.build(dict(type='UnetGenerator', num_downs=5, base_channels=4))
    assert isinstance(g, UnetGenerator) and len(_stride2_convs(g)) == 5
    r = MODELS.build(dict(type='ResnetGenerator', base_channels=4,
                          num_blocks=2))
    assert isinstance(r, ResnetGenerator)
    d = MODELS.build(dict(type='PatchDiscriminator', base_channels=4))
    assert isinstance(d, PatchDiscriminator)


def _n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_resnet_blocks_and_param_count():
    b = 8
    c = 4 * b  # block width
    g6 = ResnetGenerator(base_channels=b, num_blocks=6)
    g9 = ResnetGenerator(base_channels=b, num_blocks=9)
    assert sum(isinstance(m, ResnetBlock) for m in g6.modules()) == 6
    assert sum(isinstance(m, ResnetBlock) for m in g9.modules()) == 9
    # IN (affine-free, conv bias cancelled by it): 2 x 3x3 conv weights
    assert _n_params(g9) - _n_params(g6) == 3 * 2 * 9 * c * c == 55296
    # BN: each BN adds weight + bias
    h6 = ResnetGenerator(base_channels=b, num_blocks=6,
                         norm_cfg=dict(type='BN'))
    h9 = ResnetGenerator(base_channels=b, num_blocks=9,
                         norm_cfg=dict(type='BN'))
    assert _n_params(h9) - _n_params(h6) == 3 * 2 * (9 * c * c + 2 * c)
    # 2 stride-2 downsamplings, 2 stride-2 upsamplings
    assert len(_stride2_convs(g6)) == 2
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in g6.modules()) == 2
    x = torch.rand(1, 3, 36, 44) * 2 - 1
    with torch.no_grad():
        y = g6.eval()(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    with pytest.raises(ValueError, match='multiples of 4, got 34x44'):
        g6(torch.zeros(1, 3, 34, 44))


@pytest.mark.parametrize('num_conv,rf', [(1, 16), (2, 34), (3, 70)])
def test_patchgan_receptive_field_formula(num_conv, rf):
    # pix2pix's 16x16 / 34x34 / 70x70 PatchGANs
    assert PatchDiscriminator(num_conv=num_conv,
                              base_channels=4).receptive_field == rf


def test_patchgan_70_empirical_receptive_field_and_output_size():
    torch.manual_seed(0)
    d = PatchDiscriminator(in_channels=6, base_channels=8, num_conv=3)
    d.init_weights()
    d.eval()  # eval-mode BN: no mixing across positions
    assert d.model[0].conv.in_channels == 6
    assert d.output_size(256) == 30
    x = torch.randn(1, 6, 256, 256, requires_grad=True)
    out = d(x)
    assert out.shape == (1, 1, 30, 30)
    out[0, 0, 15, 15].backward()
    nz = x.grad.abs().sum(1)[0] != 0
    rows = torch.nonzero(nz.any(1)).flatten()
    cols = torch.nonzero(nz.any(0)).flatten()
    assert rows.max() - rows.min() + 1 == 70 == d.receptive_field
    assert cols.max() - cols.min() + 1 == 70
    # window start = 15 * stride 8 - total padding offset (1+2+4+8+8 = 23)
    assert rows.min().item() == cols.min().item() == 15 * 8 - 23
    assert nz.sum().item() == 70 * 70  # dense window


def test_patchgan_conditional_concat():
    torch.manual_seed(0)
    d = PatchDiscriminator(in_channels=6, base_channels=4).eval()
    img, cond = torch.rand(2, 1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        a = d(img, cond)
        b = d(torch.cat([cond, img], 1))
        c = d(torch.cat([img, cond], 1))
    assert a.shape == (1, 1, 6, 6)  # 64 -> 32 -> 16 -> 8 -> 7 -> 6
    assert torch.equal(a, b)  # condition goes first
    assert not torch.allclose(a, c)
    with pytest.raises(ValueError, match='expects 6 channels .* got 3'):
        d(img)
    with pytest.raises(ValueError, match='must match img shape'):
        d(img, cond[..., :32])
    with pytest.raises(ValueError, match='too small'):
        d(img[..., :8, :8], cond[..., :8, :8])
