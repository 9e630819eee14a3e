"""PoseFeatureLoss: x' judged against x by the frozen P trained on originals (its features, level by level)."""
import copy

import pytest
import torch

import mmrecanon  # noqa: F401
from mmpose.registry import MODELS
from mmrecanon.models import PoseFeatureLoss
from test_recanon import reached, small_model_cfg, train_batch  # noqa: F401  (fixture)


def test_loss_is_the_relative_squared_error_averaged_over_levels_and_trains_only_x_prime():
    loss = PoseFeatureLoss(loss_weight=2.0)
    seen = [torch.full((1, 4, 8, 8), 2.0), torch.full((1, 8, 4, 4), 10.0)]
    assert loss([f.clone() for f in seen], seen).item() == 0.0  # x' seen as x: nothing to learn
    recovered = [(seen[0] + 0.2).requires_grad_(), seen[1].clone().requires_grad_()]
    original = [f.clone().requires_grad_() for f in seen]
    value = loss(recovered, original)
    # level 1: 0.2² / 2² = 0.01, level 2: 0; mean 0.005; × 2
    assert value.item() == pytest.approx(0.01)
    grads = torch.autograd.grad(value, recovered + original, allow_unused=True)
    assert grads[0].abs().sum() > 0 and grads[1].abs().sum() == 0
    assert all(g is None for g in grads[2:])  # the originals' features are targets
    # scale-free: the same relative error on a level 100× larger counts the same
    big = loss([f * 100 for f in recovered], [f * 100 for f in original])
    assert big.item() == pytest.approx(value.item(), rel=1e-5)
    with pytest.raises(ValueError, match='levels'):
        loss(recovered[:1], original)
    with pytest.raises(ValueError, match='shape'):
        loss([seen[0][:, :2]], [seen[0]])


def test_the_model_term_needs_the_zero_shot_p_and_reaches_the_generators_only(train_batch):  # noqa: F811
    feat = dict(type='PoseFeatureLoss', loss_weight=10.0)
    with pytest.raises(ValueError, match='zeroshot_pose_estimator'):
        MODELS.build(small_model_cfg(recovery_feature_loss=feat))
    pose_cfg = small_model_cfg()['pose_estimator']
    torch.manual_seed(0)
    model = MODELS.build(small_model_cfg(zeroshot_pose_estimator=pose_cfg, recovery_feature_loss=feat))
    model.init_weights()
    model.train()
    assert not model.zeroshot_pose_estimator.training  # frozen, in eval mode (its BN statistics stay)
    data = model.data_preprocessor(copy.deepcopy(train_batch), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert torch.isfinite(losses['loss_feat']) and losses['loss_feat'] > 0
    assert reached(model, losses['loss_feat']) == {'enhancer', 'recoverer'}  # not P, not the D's
    assert not any(p.requires_grad for p in model.zeroshot_pose_estimator.parameters())
    # the originals' side is the frozen P's view of x: x' = x gives zero (the features of the same images)
    x = model.crop(data['inputs'], model.portrait_boxes(data['data_samples'], use_meta=False))
    with torch.no_grad():
        seen = model.zeroshot.features((x + 1) * 127.5)
    assert len(seen) >= 1 and model.recovery_feature_loss(seen, seen).item() == 0.0


def test_recovered_pose_variants_split_the_error_of_x_prime():
    """tools/analysis/recovered_pose.py: the two band variants together hold x' − x once, the round trip has
    no error and the noise stand-in an error of x''s RMS."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools' / 'analysis'))
    import recovered_pose as rp
    torch.manual_seed(0)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    r = x + 0.1 * torch.randn_like(x)
    low_err, high_err = rp.replacement('no-high-error', 1.5)(x, r), rp.replacement('no-low-error', 1.5)(x, r)
    assert torch.allclose(low_err + high_err, r + x, atol=1e-5)  # (x'−x)_low + (x'−x)_high = x' − x
    assert 0 < (low_err - x).abs().mean() < (high_err - x).abs().mean()  # white error: mostly high band
    luma, chroma = rp.replacement('luma-error', 1.5)(x, r), rp.replacement('chroma-error', 1.5)(x, r)
    assert torch.allclose(luma + chroma, r + x, atol=1e-5)  # brightness + colour error = x' − x
    assert torch.allclose((luma - x).std(1), torch.zeros(3, 32, 32), atol=1e-6)  # a grey error: equal channels
    w = torch.tensor(rp.LUMA_BGR).view(1, 3, 1, 1)
    assert torch.allclose(((chroma - x) * w).sum(1), torch.zeros(3, 32, 32), atol=1e-5)  # no brightness error
    smooth = rp.replacement('chroma-lowpass', 1.5)(x, r)  # x' alone: its luma kept, its colour smoothed
    assert torch.allclose((smooth * w).sum(1), (r * w).sum(1), atol=1e-5)
    colour = (smooth - (smooth * w).sum(1, keepdim=True)), (r - (r * w).sum(1, keepdim=True))
    assert 0 < colour[0].std() < 0.5 * colour[1].std()  # the white colour noise of r is mostly gone
    assert torch.equal(rp.replacement('round-trip', 1.5)(x, r), x)
    assert torch.equal(rp.replacement('as-is', 1.5)(x, r), r)
    noisy = rp.replacement('round-trip-noise', 1.5)(x, r)
    assert (noisy - x).pow(2).mean().sqrt().item() == pytest.approx((r - x).pow(2).mean().sqrt().item(), rel=0.05)
    with pytest.raises(ValueError, match='valid'):
        rp.replacement('sharpen', 1.5)
