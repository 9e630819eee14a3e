"""Conventional desensitizers A applied to the person regions of an image (numpy / OpenCV).

Used to build the desensitized baselines (a pose model trained/evaluated on A(x)-treated people)
and by the CLI. The per-region result equals the torch functionals of
``mmrecanon.models.utils.desensitize`` applied to the same region (up to +-1 from rounding to
uint8); see that module for the meaning of each strength r (blur radius = Gaussian sigma, pixelate
block size, noise sigma in 8-bit units).

Region rule: each box (x1, y1, x2, y2) in continuous pixel coordinates (pixel i spans [i, i+1)) is
scaled by ``margin`` about its centre, and every pixel it touches (floor of the min corner to ceil
of the max corner, clipped to the image) is desensitized -- a partially covered pixel is treated,
which errs on the side of privacy. Boxes that are non-finite or have no pixel inside the image are
skipped. A is computed on each region cut out of the *input* image (so a region's borders are the
reflect-101 borders of the crop, as for the person crops x given to G_X) and regions are written in
ascending box area, so in an overlap the largest person wins (same order as
``paste_portraits``). Pixels outside every region are left bit-identical.
"""
import math
import os.path as osp
import zlib
from typing import Optional, Sequence, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...models.utils.desensitize import DESENSITIZER_KINDS, scaled_block
from ...models.utils.tiles import person_regions, portrait_scales



def _blur_np(a: np.ndarray, radius: float) -> np.ndarray:
    ksize = 2 * int(math.ceil(3 * radius)) + 1
    out = cv2.GaussianBlur(a, (ksize, ksize), radius, radius, borderType=cv2.BORDER_REFLECT_101)
    return out.reshape(a.shape)  # cv2 drops a trailing channel axis of size 1


def _pixelate_np(a: np.ndarray, block: int) -> np.ndarray:
    h, w = a.shape[:2]
    ys, xs = np.arange(0, h, block), np.arange(0, w, block)
    sums = np.add.reduceat(np.add.reduceat(a, ys, axis=0), xs, axis=1)
    counts = np.outer(np.diff(np.append(ys, h)), np.diff(np.append(xs, w)))
    means = sums / counts.reshape(counts.shape + (1, ) * (a.ndim - 2))
    return np.repeat(np.repeat(means, block, axis=0), block, axis=1)[:h, :w]


def _check_strength(kind: str, radius, block, sigma) -> None:
    if kind not in DESENSITIZER_KINDS:
        raise ValueError(f'unknown desensitizer kind {kind!r}; valid kinds: '
                         f'{", ".join(DESENSITIZER_KINDS)}')
    if kind == 'blur' and not (math.isfinite(float(radius)) and float(radius) >= 0):
        raise ValueError(f'blur radius must be a finite number >= 0, got {radius!r}')
    if kind == 'pixelate' and (isinstance(block, bool) or int(block) != block or block < 1):
        raise ValueError(f'pixelate block must be an integer >= 1, got {block!r}')
    if kind == 'noise' and not (math.isfinite(float(sigma)) and float(sigma) >= 0):
        raise ValueError(f'noise sigma must be a finite number >= 0, got {sigma!r}')


def desensitize_image(img: np.ndarray,
                      bboxes,
                      kind: str,
                      *,
                      radius: float = 8,
                      block: int = 12,
                      sigma: float = 25.0,
                      margin: float = 1.0,
                      portrait_size: Optional[int] = None,
                      seed: Union[int, Sequence[int], None] = None,
                      rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Apply the desensitizer A of ``kind`` to the person regions of ``img``; returns a new image.

    Args:
        img: uint8 or float image, (H, W, C) or (H, W) grey. uint8 results are rounded and
            clipped to [0, 255]; float images are returned unclipped.
        bboxes: (N, 4) xyxy boxes (may extend outside the image, may be empty).
        kind: 'blur' | 'pixelate' | 'noise'; strengths ``radius`` (Gaussian sigma, px),
            ``block`` (px), ``sigma`` (8-bit units, for float images too).
        margin: box scale about its centre before clipping (1.0 = the box itself).
        portrait_size: A at each person's own scale, as the native-resolution model applies it
            (``models/utils/tiles.py``): blur radius and pixelation block times k = margin · longest box side
            / ``portrait_size`` (None: the strengths in image pixels).
        seed / rng: noise source; ``rng`` wins, else ``np.random.default_rng(seed)`` (seed None
            -> fresh OS entropy, not reproducible).
    """
    if not isinstance(img, np.ndarray):
        raise TypeError(f'img must be a numpy array, got {type(img).__name__}')
    if img.ndim not in (2, 3):
        raise ValueError(f'img must be (H, W) or (H, W, C), got shape {img.shape}')
    if img.dtype != np.uint8 and not np.issubdtype(img.dtype, np.floating):
        raise TypeError(f'img must be uint8 or floating point, got {img.dtype}')
    _check_strength(kind, radius, block, sigma)
    regions, index = person_regions(bboxes, img.shape, margin, with_index=True)
    scales = np.ones(len(regions))
    if portrait_size is not None:
        scales = portrait_scales(np.asarray(bboxes, np.float64).reshape(-1, 4)[index], margin, portrait_size)
    out = img.copy()
    if len(regions) == 0:
        return out
    if kind == 'noise' and rng is None:
        rng = np.random.default_rng(seed)
    work_dtype = np.float32 if img.dtype in (np.uint8, np.float16, np.float32) else np.float64
    for (x0, y0, x1, y1), k in zip(regions, scales):
        region = img[y0:y1, x0:x1].astype(work_dtype)
        if kind == 'blur':
            res = _blur_np(region, float(radius) * k) if radius > 0 else region
        elif kind == 'pixelate':
            res = _pixelate_np(region, scaled_block(block, k))
        else:
            res = region + rng.standard_normal(region.shape, dtype=work_dtype) * sigma
        if img.dtype == np.uint8:
            res = np.clip(np.rint(res), 0, 255)
        out[y0:y1, x0:x1] = res.astype(img.dtype)
    return out


class PersonDesensitizeBase(BaseTransform):
    """Base of the person-region desensitizing transforms (A applied inside ``results['bbox']``).

    Required keys: ``img``, ``bbox`` ((N, 4) xyxy). Modified key: ``img``.
    Subclasses set ``kind`` and return their strength from ``_params()``. ``portrait_size``: A at each
    person's own scale (see :func:`desensitize_image`), e.g. the conventional baseline of a P pipeline
    (``configs/yolov8pose/yolov8pose-n_people-mini_conventional-blur.py``).
    """
    kind: str = ''

    def __init__(self, margin: float = 1.0, portrait_size: Optional[int] = None):
        if not (math.isfinite(float(margin)) and float(margin) > 0):
            raise ValueError(f'margin must be a finite number > 0, got {margin!r}')
        if portrait_size is not None and (isinstance(portrait_size, bool) or int(portrait_size) != portrait_size
                                          or portrait_size < 1):
            raise ValueError(f'portrait_size must be None or an integer >= 1, got {portrait_size!r}')
        self.margin = float(margin)
        self.portrait_size = None if portrait_size is None else int(portrait_size)

    def _params(self, results: dict) -> dict:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError(f'{type(self).__name__} needs results["img"]')
        if 'bbox' not in results:
            raise KeyError(
                f'{type(self).__name__} needs results["bbox"] ((N, 4) xyxy person boxes)')
        results['img'] = desensitize_image(
            results['img'], results['bbox'], self.kind, margin=self.margin, portrait_size=self.portrait_size,
            **self._params(results))
        return results

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self._repr_args().items())
        size = '' if self.portrait_size is None else f', portrait_size={self.portrait_size}'
        return f'{type(self).__name__}({args}, margin={self.margin}{size})'

    def _repr_args(self) -> dict:
        return {}


@TRANSFORMS.register_module()
class PersonGaussianBlur(PersonDesensitizeBase):
    """Gaussian-blur the person regions; ``radius`` = Gaussian sigma in pixels."""
    kind = 'blur'

    def __init__(self, radius: float = 8, margin: float = 1.0, portrait_size: Optional[int] = None):
        super().__init__(margin, portrait_size)
        _check_strength(self.kind, radius, 1, 0)
        self.radius = float(radius)

    def _params(self, results):
        return dict(radius=self.radius)

    def _repr_args(self):
        return dict(radius=self.radius)


@TRANSFORMS.register_module()
class PersonPixelate(PersonDesensitizeBase):
    """Pixelate the person regions with ``block`` x ``block`` blocks anchored at each region's
    top-left corner."""
    kind = 'pixelate'

    def __init__(self, block: int = 12, margin: float = 1.0, portrait_size: Optional[int] = None):
        super().__init__(margin, portrait_size)
        _check_strength(self.kind, 0, block, 0)
        self.block = int(block)

    def _params(self, results):
        return dict(block=self.block)

    def _repr_args(self):
        return dict(block=self.block)


@TRANSFORMS.register_module()
class PersonGaussianNoise(PersonDesensitizeBase):
    """Add N(0, sigma^2) noise (8-bit units) to the person regions.

    Seeding: with ``seed`` set, every call builds a fresh generator from (seed, image key), the key
    being crc32 of ``results['img_id']`` or else of the basename of ``results['img_path']`` (if
    neither exists, the seed alone). So the same image always gets the same noise, regardless of
    data-loader order or worker count, while different images get different noise. ``seed=None``
    draws fresh OS entropy each call.
    """
    kind = 'noise'

    def __init__(self, sigma: float = 25.0, seed: Optional[int] = None, margin: float = 1.0,
                 portrait_size: Optional[int] = None):
        super().__init__(margin, portrait_size)  # noise has no spatial scale: portrait_size changes nothing
        _check_strength(self.kind, 0, 1, sigma)
        if seed is not None and (isinstance(seed, bool) or int(seed) != seed or seed < 0):
            raise ValueError(f'seed must be None or an integer >= 0, got {seed!r}')
        self.sigma = float(sigma)
        self.seed = None if seed is None else int(seed)

    def _rng(self, results: dict) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng()
        if results.get('img_id') is not None:
            key = str(results['img_id'])
        elif results.get('img_path') is not None:
            key = osp.basename(str(results['img_path']))
        else:
            return np.random.default_rng(self.seed)
        return np.random.default_rng([self.seed, zlib.crc32(key.encode('utf-8'))])

    def _params(self, results):
        return dict(sigma=self.sigma, rng=self._rng(results))

    def _repr_args(self):
        return dict(sigma=self.sigma, seed=self.seed)
