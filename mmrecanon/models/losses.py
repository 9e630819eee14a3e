# Copyright (c) mmrecanon contributors.
"""Losses of the reversible privacy-preserving model.

Symbols: x = person crop, A = desensitizer, G_X = enhancer (y' = G_X(x)),
G_Y = recoverer (x' = G_Y(y')), D_Y / D_X = conditional discriminators.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor


def _check_tensor(name: str, what: str, t) -> None:
    if not isinstance(t, Tensor) or not t.is_floating_point():
        got = t.dtype if isinstance(t, Tensor) else type(t).__name__
        raise TypeError(f'{name}: {what} must be a floating-point Tensor, '
                        f'got {got}')
    if t.numel() == 0:
        raise ValueError(f'{name}: {what} is empty (shape {tuple(t.shape)})')


def _check_pair(name: str, a: Tensor, b: Tensor,
                names=('pred', 'target')) -> None:
    _check_tensor(name, names[0], a)
    _check_tensor(name, names[1], b)
    if a.shape != b.shape:
        raise ValueError(f'{name}: {names[0]} shape {tuple(a.shape)} != '
                         f'{names[1]} shape {tuple(b.shape)}')


@MODELS.register_module()
class GANLoss(nn.Module):
    """Adversarial loss for D_Y / G_X and D_X / G_Y on raw PatchGAN logits.

    Paper eqs. 1 (L_DY), 2 (L_GX), 6 (L_DX) and 7 (L_GY); eq. 6 as printed
    uses D_Y where D_X is meant (D_X judges x vs. x' given y').

    - ``'vanilla'``: BCE with logits against the real/fake label (the
      log-likelihood form of the paper's equations);
    - ``'lsgan'``: mean squared error against the label (LSGAN; the
      default, pix2pix/CycleGAN's stable choice);
    - ``'hinge'``: discriminator ``mean(relu(1 - pred))`` for real,
      ``mean(relu(1 + pred))`` for fake; generator ``-mean(pred)``.

    ``loss_weight`` multiplies generator losses only (``is_disc=False``);
    discriminator losses are returned unweighted (mmagic's convention), so
    the weight balances adversarial vs. reconstruction terms of G_X / G_Y
    without changing the discriminators' step size.

    Args:
        gan_type (str): 'vanilla' | 'lsgan' | 'hinge'. Defaults to 'lsgan'.
        real_label_val (float): Target for real. Defaults to 1.0.
        fake_label_val (float): Target for fake. Defaults to 0.0.
        loss_weight (float): Generator-loss weight. Defaults to 1.0.
    """

    GAN_TYPES = ('vanilla', 'lsgan', 'hinge')

    def __init__(self,
                 gan_type: str = 'lsgan',
                 real_label_val: float = 1.0,
                 fake_label_val: float = 0.0,
                 loss_weight: float = 1.0):
        super().__init__()
        if gan_type not in self.GAN_TYPES:
            raise ValueError(f'GANLoss: gan_type must be one of '
                             f'{self.GAN_TYPES}, got {gan_type!r}')
        self.gan_type = gan_type
        self.real_label_val = float(real_label_val)
        self.fake_label_val = float(fake_label_val)
        self.loss_weight = float(loss_weight)

    def forward(self,
                pred: Tensor,
                target_is_real: bool,
                is_disc: bool = False) -> Tensor:
        """Loss of logits ``pred`` (any shape) for the given target.

        Args:
            pred (Tensor): Discriminator logits, e.g. N x 1 x h x w.
            target_is_real (bool): Target label (generators pass True).
            is_disc (bool): Discriminator loss (unweighted) if True.
        """
        _check_tensor('GANLoss', 'pred', pred)
        if not isinstance(target_is_real, bool):
            raise TypeError(f'GANLoss: target_is_real must be bool, got '
                            f'{type(target_is_real).__name__}')
        if self.gan_type == 'hinge':
            if is_disc:
                sign = -1. if target_is_real else 1.
                loss = F.relu(1. + sign * pred).mean()
            else:
                if not target_is_real:
                    raise ValueError('GANLoss(hinge): the generator loss is '
                                     '-mean(pred); call it with '
                                     'target_is_real=True')
                loss = -pred.mean()
        else:
            label = (self.real_label_val
                     if target_is_real else self.fake_label_val)
            target = torch.full_like(pred, label)
            if self.gan_type == 'vanilla':
                loss = F.binary_cross_entropy_with_logits(pred, target)
            else:
                loss = F.mse_loss(pred, target)
        return loss if is_disc else loss * self.loss_weight


@MODELS.register_module()
class ThresholdL1Loss(nn.Module):
    """Thresholded L1 between G_X(x) and A(x) (paper eq. 4, L_XY).

    The L1 distance between the privacy-enhanced crop y' = G_X(x) and the
    desensitized crop A(x) is counted only where it is at least T, so G_X
    may deviate from A(x) by less than T for free and use that slack to
    carry pose and recovery information for P and G_Y.

    - ``reduction_level='sample'``: per-sample (weighted) mean absolute
      error ``e_i``; loss = ``mean_i(e_i * [e_i >= T])``.
    - ``reduction_level='pixel'``: the indicator acts per element,
      loss = (weighted) ``mean(|d| * [|d| >= T])``.

    With ``weight`` (broadcastable to ``pred``), means are weighted means
    ``sum(w * .) / sum(w)`` (a sample whose weights sum to 0 gives e_i = 0).
    The indicator is piecewise constant, so samples/elements below T get
    exactly zero gradient.

    T is in the units of the tensors. The paper leaves T unstated; the
    default 0.05 on [-1, 1] images is ~6.4 of 255 grey levels (0.05 * 127.5):
    below the visible change of the blur/pixelation/noise desensitizers, yet
    a margin the enhancer can encode information in.

    Args:
        threshold (float): T. Defaults to 0.05.
        loss_weight (float): Weight (lambda_1 may also be applied outside).
            Defaults to 1.0.
        reduction_level (str): 'sample' | 'pixel'. Defaults to 'sample'.
    """

    def __init__(self,
                 threshold: float = 0.05,
                 loss_weight: float = 1.0,
                 reduction_level: str = 'sample'):
        super().__init__()
        if reduction_level not in ('sample', 'pixel'):
            raise ValueError(f"ThresholdL1Loss: reduction_level must be "
                             f"'sample' or 'pixel', got {reduction_level!r}")
        if threshold < 0:
            raise ValueError(f'ThresholdL1Loss: threshold must be >= 0, got '
                             f'{threshold}')
        self.threshold = float(threshold)
        self.loss_weight = float(loss_weight)
        self.reduction_level = reduction_level

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Args:
            pred (Tensor): G_X(x), N x ... (N = samples).
            target (Tensor): A(x), same shape.
            weight (Tensor, optional): Element weights broadcastable to
                ``pred`` (e.g. N x 1 x H x W masks).
        """
        name = 'ThresholdL1Loss'
        _check_pair(name, pred, target)
        diff = (pred - target).abs()
        if weight is None:
            w = torch.ones_like(diff)
        else:
            _check_tensor(name, 'weight', weight)
            try:
                shape = torch.broadcast_shapes(weight.shape, diff.shape)
            except RuntimeError:
                shape = None
            if shape != diff.shape:
                raise ValueError(f'{name}: weight shape '
                                 f'{tuple(weight.shape)} does not broadcast '
                                 f'to pred shape {tuple(pred.shape)}')
            w = weight.expand_as(diff)
        if self.reduction_level == 'pixel':
            kept = diff * (diff >= self.threshold).to(diff.dtype)
            loss = (w * kept).sum() / w.sum().clamp(min=1e-12)
        else:
            n = diff.shape[0]
            num = (w * diff).reshape(n, -1).sum(1)
            den = w.reshape(n, -1).sum(1).clamp(min=1e-12)
            err = num / den
            loss = (err * (err >= self.threshold).to(err.dtype)).mean()
        return loss * self.loss_weight


@MODELS.register_module()
class ConsistencyLoss(nn.Module):
    """Cycle-consistency loss (paper eq. 8): ``L1(G_Y(G_X(x)), x)``, optionally plus an SSIM term.

    The paper's eq. 8 prints ``G_X(G_Y(x))``, which mixes domains: G_Y
    expects a privacy-enhanced input y', not a raw crop x. We follow the
    text's definition (recover the enhanced crop and compare to x); the
    joint model keeps the printed order available as
    ``cycle_order='printed'``, in which case ``recovered`` is G_X(G_Y(x)).

    ``ssim_weight`` = w > 0 (not in the paper) adds ``w · (1 − SSIM(x', x))`` inside the term (so λ2 scales
    both): Zhao et al., "Loss Functions for Image Restoration with Neural Networks" (IEEE TCI 2017) mix L1
    with SSIM because L1 spends its gradient evenly over the image, while SSIM counts an error against the
    local contrast: the same 5 grey levels of noise cost far more SSIM on a flat wall than on a textured
    shirt. The SSIM is the one ``PortraitQualityMetric`` reports (``pytorch_msssim.ssim``: 11 × 11 Gaussian
    window, σ = 1.5, K = (0.01, 0.03), valid filtering, channel mean, as ``skimage.metrics
    .structural_similarity`` with ``gaussian_weights=True, use_sample_covariance=False``), on the images
    mapped from [−1, 1] to [0, 1], the metric's [0, 255] scaled.

    Args:
        loss_weight (float): lambda_2; 10.0 as CycleGAN's cycle weight (the
            paper does not state it). Defaults to 10.0.
        ssim_weight (float): w of the SSIM term; 0 (the paper's L1 alone) by default.
    """

    def __init__(self, loss_weight: float = 10.0, ssim_weight: float = 0.0):
        super().__init__()
        self.loss_weight = float(loss_weight)
        if ssim_weight < 0:
            raise ValueError(f'ConsistencyLoss: ssim_weight must be >= 0, got {ssim_weight}')
        self.ssim_weight = float(ssim_weight)
        if self.ssim_weight > 0:
            import pytorch_msssim  # noqa: F401  (a missing package fails when the model is built, not mid-run)

    @staticmethod
    def ssim(recovered: Tensor, original: Tensor) -> Tensor:
        """Mean SSIM of two N x C x H x W batches in [-1, 1] (the metric's settings, differentiable)."""
        from pytorch_msssim import ssim
        if min(original.shape[-2:]) < 11:
            raise ValueError(f'ConsistencyLoss: the SSIM term needs images of at least 11 x 11 pixels, '
                             f'got {tuple(original.shape[-2:])}')
        # SSIM's luminance term is not shift-invariant: compare on [0, 1], the metric's [0, 255] scaled
        return ssim((recovered + 1.) / 2., (original + 1.) / 2., data_range=1.0, size_average=True,
                    win_size=11, win_sigma=1.5, K=(0.01, 0.03))

    def forward(self, recovered: Tensor, original: Tensor) -> Tensor:
        """Args:
            recovered (Tensor): x' = G_Y(G_X(x)).
            original (Tensor): x, same shape.
        """
        _check_pair('ConsistencyLoss', recovered, original,
                    ('recovered', 'original'))
        loss = F.l1_loss(recovered, original)
        if self.ssim_weight > 0:
            loss = loss + self.ssim_weight * (1. - self.ssim(recovered, original))
        return loss * self.loss_weight


@MODELS.register_module()
class PoseFeatureLoss(nn.Module):
    """L_feat(x', x): how differently a frozen pose model trained on originals sees x' and x (not in the paper).

    ``loss_weight`` · mean over P's feature levels l of ‖F_l(x') − F_l(x)‖² / mean(F_l(x)²), F_l = the
    levels ``extract_feat`` returns (YOLOv8's neck: strides 8/16/32). Relative, so that every level counts
    alike whatever its scale. Why: x' at 32.7 dB loses 11.8 mAP@0.5 of the frozen "pre" beyond the 128-px round
    trip, white noise with the RMS of x' − x 4.1 (results/recovered-pose.md): G_Y's L1 errors sit where P
    looks. L1 asks for few grey levels of error; this asks for the same pose evidence. Measured as an ablation
    (configs/ablations/recanon-ours-band-feat_blur_people-mini_yolo.py): +2.1 for "pre" on x', +0.1 for the
    joint P.

    Args:
        loss_weight: weight of the term (λ_feat).
    """

    def __init__(self, loss_weight: float = 10.0):
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, recovered_feats, original_feats) -> Tensor:
        """Args:
            recovered_feats, original_feats: sequences of feature maps of x' and x, level by level (the
                originals' are targets: detached here).
        """
        if len(recovered_feats) == 0 or len(recovered_feats) != len(original_feats):
            raise ValueError(f'PoseFeatureLoss: {len(recovered_feats)} levels of x\' features vs '
                             f'{len(original_feats)} of x')
        terms = []
        for r, o in zip(recovered_feats, original_feats):
            _check_pair('PoseFeatureLoss', r, o, ('recovered features', 'original features'))
            o = o.detach()
            terms.append(F.mse_loss(r, o) / o.pow(2).mean().clamp(min=1e-8))
        return torch.stack(terms).mean() * self.loss_weight
