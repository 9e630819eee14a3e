"""Conventional desensitizers A(x) (torch): Gaussian blur, pixelation, Gaussian noise.

A is the fixed, parameter-free operator that the enhancer G_X imitates (L_XY = L1(G_X(x), A(x))).
All functions take float NCHW tensors of any value range and are differentiable w.r.t. ``x``
(except the random draw of the noise, which is additive and so passes gradients unchanged).

Strength parameter ``r`` of the paper, per kind:

* blur: ``radius`` r is the Gaussian standard deviation sigma, in pixels (PIL's
  ``ImageFilter.GaussianBlur(radius)`` convention). The kernel is separable with
  ``ksize = 2 * ceil(3 * sigma) + 1`` taps (covers +-3 sigma, >99.7 % of the mass), weights
  ``exp(-i^2 / (2 sigma^2))`` normalised to sum 1 -- identical to
  ``cv2.GaussianBlur(x, (ksize, ksize), sigma, sigma, borderType=cv2.BORDER_REFLECT_101)``.
  Borders are reflect-101 (``dcb|abcd|cba``), applied repeatedly when the kernel is larger than the
  image (as cv2 does). r = 8 -> 49 taps.
  We do not call ``torchvision.transforms.v2.functional.gaussian_blur`` although it gives the same
  values (checked in tests/test_desensitize.py): it convolves with the full k x k kernel (49x more
  work at r = 8) and its reflect padding fails when ``ksize // 2 >= H or W`` (small crops).
* pixelate: ``block`` r: the mean over each r x r block (blocks anchored at the top-left corner),
  nearest-upsampled back to H x W. A partial last block (H or W not a multiple of r) is the mean
  of the pixels it has. Equals cv2 ``INTER_AREA`` down to (H/r, W/r) + ``INTER_NEAREST`` back
  when r divides H and W.
* noise: ``sigma`` is the standard deviation in 8-bit units (0..255); for tensors spanning
  ``value_range`` it is scaled by ``value_range / 255`` (2.0 for [-1, 1] tensors).
"""
import math
from functools import lru_cache
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor, nn

DESENSITIZER_KINDS = ('blur', 'pixelate', 'noise')


def check_nchw(x: Tensor, name: str = 'x') -> None:
    """A floating-point (B, C, H, W) tensor, or TypeError/ValueError naming ``name`` (portraits and frames)."""
    if not isinstance(x, Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(x).__name__}')
    if x.dim() != 4:
        raise ValueError(f'{name} must be NCHW (B, C, H, W), got shape {tuple(x.shape)}')
    if not x.is_floating_point():
        raise TypeError(f'{name} must be a floating-point tensor, got {x.dtype}')


def gaussian_kernel1d(sigma: float, dtype=torch.float32, device=None) -> Tensor:
    """1-D Gaussian taps for std ``sigma`` with ``2 * ceil(3 * sigma) + 1`` taps, summing to 1."""
    half = int(math.ceil(3.0 * sigma))
    pos = torch.arange(-half, half + 1, dtype=torch.float64, device=device)
    k = torch.exp(-pos.square() / (2.0 * sigma * sigma))
    return (k / k.sum()).to(dtype)


def reflect101_index(length: int, pad: int, device=None) -> Tensor:
    """Source indices for padding ``length`` samples by ``pad`` on both sides, reflect-101.

    Folding is periodic with period 2 * (length - 1), so any ``pad`` works (cv2's
    ``borderInterpolate(BORDER_REFLECT_101)``); a length-1 axis repeats its only sample.
    """
    idx = torch.arange(-pad, length + pad, device=device)
    if length == 1:
        return torch.zeros_like(idx)
    period = 2 * (length - 1)
    idx = idx.remainder(period)
    return torch.where(idx >= length, period - idx, idx)


def gaussian_blur(x: Tensor, radius: float) -> Tensor:
    """A_blur(x): separable Gaussian blur with std ``radius`` (pixels), reflect-101 borders.

    Args:
        x: float tensor (N, C, H, W), any value range.
        radius: Gaussian sigma (PIL "radius"); 0 returns a copy of ``x``.
    """
    check_nchw(x)
    radius = float(radius)
    if not math.isfinite(radius) or radius < 0:
        raise ValueError(f'blur radius must be a finite number >= 0, got {radius}')
    if radius == 0 or x.numel() == 0:
        return x.clone()
    # separable: y = B_h · x · B_wᵀ with the (length × length) blur matrices (two batched matmuls are
    # ~10× faster on a CPU than single-channel convolutions with 2⌈3σ⌉+1 taps)
    rows = _blur_matrix(x.shape[-2], radius, x.dtype, x.device)
    cols = _blur_matrix(x.shape[-1], radius, x.dtype, x.device)
    return torch.matmul(torch.matmul(rows, x), cols.transpose(0, 1))


@lru_cache(maxsize=32)
def _blur_matrix(length: int, radius: float, dtype, device) -> Tensor:
    """B (length × length): row i holds the Gaussian taps of output sample i with reflect-101 borders,
    folded onto the input samples (``reflect101_index``), so ``B @ v`` is the padded 1-D convolution."""
    k = gaussian_kernel1d(radius, dtype=torch.float64)
    pad = k.numel() // 2
    src = reflect101_index(length, pad)
    m = torch.zeros(length, length, dtype=torch.float64)
    for i in range(length):
        m[i].index_add_(0, src[i:i + 2 * pad + 1], k)
    return m.to(dtype=dtype, device=device)


def pixelate(x: Tensor, block: int) -> Tensor:
    """A_pixelate(x): r x r block means, nearest-upsampled back to (H, W).

    Partial blocks at the bottom/right edge average only the pixels they contain
    (``avg_pool2d(ceil_mode=True)`` divides by the in-bounds count when ``padding=0``).
    """
    check_nchw(x)
    if isinstance(block, bool) or int(block) != block or block < 1:
        raise ValueError(f'pixelate block must be an integer >= 1, got {block!r}')
    block = int(block)
    if block == 1 or x.numel() == 0:
        return x.clone()
    h, w = x.shape[-2:]
    means = F.avg_pool2d(x, block, stride=block, ceil_mode=True)
    up = means.repeat_interleave(block, dim=2).repeat_interleave(block, dim=3)
    return up[..., :h, :w]


def gaussian_noise(x: Tensor,
                   sigma: float,
                   value_range: float = 255.0,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    """A_noise(x) = x + n, n ~ N(0, (sigma * value_range / 255)^2), i.i.d. per element.

    Args:
        sigma: standard deviation in 8-bit units (e.g. 25 -> 25/255 of the value range).
        value_range: max - min of the tensor's value range (255 for [0, 255], 2 for [-1, 1]).
        generator: optional ``torch.Generator`` on ``x.device`` for reproducible noise.
    No clamping is done here (see :class:`Desensitizer`).
    """
    check_nchw(x)
    sigma, value_range = float(sigma), float(value_range)
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f'noise sigma must be a finite number >= 0, got {sigma}')
    if not math.isfinite(value_range) or value_range <= 0:
        raise ValueError(f'value_range must be a finite number > 0, got {value_range}')
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + noise * (sigma * value_range / 255.0)


def scaled_block(block: int, scale: float) -> int:
    """A pixelation block of ``block`` px at portrait scale ``scale``: at least 1 px."""
    return max(1, int(round(int(block) * float(scale))))


@MODELS.register_module()
class Desensitizer(nn.Module):
    """The conventional desensitizer A used as the target style of the enhancer G_X.

    ``forward(x)`` returns the detached A(x) for NCHW tensors (by default generator tensors in
    [-1, 1], hence ``value_range=2.0`` and ``clamp=(-1, 1)``). A has no parameters.

    Args:
        kind: 'blur' (strength ``radius`` = Gaussian sigma), 'pixelate' (``block`` size) or
            'noise' (``sigma`` in 8-bit units).
        radius, block, sigma: strengths; defaults r=8 / 12 / 25 are mid-range values of the
            paper's settings (only the one matching ``kind`` is used).
        value_range: value range of the inputs, only scales the noise.
        seed: if set, noise comes from the module's own ``torch.Generator`` seeded with it (per
            device), so a fresh module reproduces the same sequence of draws; None uses torch's
            global RNG.
        clamp: (min, max) the output is clamped to, or None for no clamping.
    """

    def __init__(self,
                 kind: str = 'blur',
                 radius: float = 8,
                 block: int = 12,
                 sigma: float = 25.0,
                 value_range: float = 2.0,
                 seed: Optional[int] = None,
                 clamp: Optional[Tuple[float, float]] = (-1, 1)):
        super().__init__()
        if kind not in DESENSITIZER_KINDS:
            raise ValueError(f'unknown desensitizer kind {kind!r}; valid kinds: '
                             f'{", ".join(DESENSITIZER_KINDS)}')
        if clamp is not None and (len(clamp) != 2 or clamp[0] > clamp[1]):
            raise ValueError(f'clamp must be None or (min, max) with min <= max, got {clamp!r}')
        self.kind = kind
        self.radius = float(radius)
        self.sigma = float(sigma)
        self.value_range = float(value_range)
        self.seed = seed
        self.clamp = None if clamp is None else (float(clamp[0]), float(clamp[1]))
        self._generators = {}
        # validate the strengths here instead of on the first batch (no RNG draw is made)
        gaussian_blur(torch.zeros(1, 1, 1, 1), self.radius)
        pixelate(torch.zeros(1, 1, 1, 1), block)
        gaussian_noise(torch.zeros(1, 1, 0, 0), self.sigma, self.value_range)
        self.block = int(block)

    @property
    def param(self) -> float:
        """The strength r of the chosen kind (radius, block or sigma)."""
        return {'blur': self.radius, 'pixelate': self.block, 'noise': self.sigma}[self.kind]

    @property
    def param_name(self) -> str:
        return {'blur': 'radius', 'pixelate': 'block', 'noise': 'sigma'}[self.kind]

    def extra_repr(self) -> str:
        return f'kind={self.kind!r}, {self.param_name}={self.param}'

    def _generator(self, device: torch.device) -> Optional[torch.Generator]:
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(int(self.seed))
        return self._generators[key]

    def scaled_block(self, scale: float) -> int:
        """Pixelation block at portrait scale ``scale`` (at least 1 px)."""
        return scaled_block(self.block, scale)

    def support(self, scale: float = 1.0) -> Tuple[int, int]:
        """(halo, grid) of A at ``scale``: how far a blur's taps reach and the pixelation lattice
        (``models.utils.tiles.context_window``)."""
        if self.kind == 'blur':
            return int(math.ceil(3.0 * self.radius * float(scale))), 1
        if self.kind == 'pixelate':
            return 0, self.scaled_block(scale)
        return 0, 1

    def _desensitize(self, x: Tensor, generator: Optional[torch.Generator], scale: float) -> Tensor:
        if self.kind == 'blur':
            return gaussian_blur(x, self.radius * scale)
        if self.kind == 'pixelate':
            return pixelate(x, self.scaled_block(scale))
        return gaussian_noise(x, self.sigma, self.value_range, generator)

    @torch.no_grad()
    def forward(self, x: Tensor, scale: float = 1.0) -> Tensor:
        """A(x); ``scale`` k multiplies the blur radius and the pixelation block (A at a person's own
        resolution, ``models/utils/tiles.py``: k frame pixels per portrait pixel); noise is per pixel."""
        check_nchw(x)
        scale = float(scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f'scale must be a finite number > 0, got {scale!r}')
        y = self._desensitize(x.detach(), self._generator(x.device) if self.kind == 'noise' else None, scale)
        if self.clamp is not None:
            y = y.clamp(*self.clamp)
        return y.detach()
