"""Recovery at the person's own resolution: person regions of a frame and the tiles G_X and G_Y see.

The portrait design resamples every person to ``portrait_size`` px and back. That caps recovery (a
perfect G_Y gives 28 dB inside the person boxes of people-mini's full-resolution frames,
``results/recovery.md``) and it destroys a carrier that lives in the finest pixels of y'.
With ``ReCanon(native_resolution=True)`` nothing is resampled:

* **Regions.** A person's region is its box scaled by ``margin`` about its centre, on whole pixels
  (:func:`person_regions`), widened to even pixel coordinates (the Haar carrier works on 2×2 blocks) and
  clipped to the image. Overlapping regions are merged into their union, so every pixel belongs to one
  region and no region's carrier is overwritten by another's (:func:`native_regions`).
* **Tiles.** A region is cut into ``tile`` × ``tile`` tiles from its top-left corner; the last column and
  row of tiles may be smaller (:func:`region_tiles`). G_X and G_Y see each tile replicate-padded to
  ``tile`` × ``tile`` (:func:`cut_tiles`), and a tile's carrier lives inside its valid part only
  (``KeyedCarrier.lock(..., valid=...)``), so every tile is anonymized and recovered on its own, under
  the conditions it was trained in (``NativePersonTile`` cuts the same tiles from training images).
* **A at the person's scale.** A is applied to the whole region with its strength scaled by the region's
  portrait scale k = margin · max(box w, h) / ``portrait_size`` (``Desensitizer(x, scale=k)``): a blur of
  σ·k frame pixels is the blur of σ px on the person's portrait, so y' hides as much as the portrait
  design's y', whatever the person's size. Merged regions take the largest k (the strongest A).
"""
import math
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

Rect = Tuple[int, int, int, int]


def person_regions(bboxes, img_shape: Sequence[int], margin: float = 1.0, with_index: bool = False):
    """Integer pixel regions (x0, y0, x1, y1), end-exclusive, of the boxes inside the image.

    Each box is scaled by ``margin`` about its centre; every pixel it touches (floor of the min corner to
    ceil of the max corner, clipped to the image) is in the region -- a partly covered pixel counts, which
    errs on the side of privacy. Returns an (M, 4) int64 array sorted by ascending (margin-scaled) box
    area; non-finite or degenerate boxes and boxes fully outside the image are dropped. ``with_index``:
    also the index of each region's box in ``bboxes``.
    """
    if margin is None or not math.isfinite(float(margin)) or float(margin) <= 0:
        raise ValueError(f'margin must be a finite number > 0, got {margin!r}')
    b = np.asarray(bboxes if bboxes is not None else [], dtype=np.float64)
    if b.size == 0:
        empty = np.zeros((0, 4), dtype=np.int64)
        return (empty, np.zeros((0, ), np.int64)) if with_index else empty
    if b.ndim == 1 and b.shape[0] == 4:
        b = b[None]
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f'bboxes must be an (N, 4) xyxy array, got shape {b.shape}')
    h, w = int(img_shape[0]), int(img_shape[1])
    index = np.flatnonzero(np.isfinite(b).all(axis=1))
    b = b[index]
    centre = (b[:, :2] + b[:, 2:]) / 2
    half = (b[:, 2:] - b[:, :2]) * (float(margin) / 2)
    lo, hi = centre - half, centre + half
    area = np.prod(hi - lo, axis=1)
    x0 = np.clip(np.floor(lo[:, 0]), 0, w)
    y0 = np.clip(np.floor(lo[:, 1]), 0, h)
    x1 = np.clip(np.ceil(hi[:, 0]), 0, w)
    y1 = np.clip(np.ceil(hi[:, 1]), 0, h)
    keep = (hi[:, 0] > lo[:, 0]) & (hi[:, 1] > lo[:, 1]) & (x1 > x0) & (y1 > y0)
    regions = np.stack([x0, y0, x1, y1], axis=1)[keep].astype(np.int64)
    order = np.argsort(area[keep], kind='stable')
    return (regions[order], index[keep][order]) if with_index else regions[order]


def portrait_scales(bboxes, margin: float, portrait_size: int) -> np.ndarray:
    """k per xyxy box: margin · longest box side / ``portrait_size`` (A's strength at the person's scale)."""
    b = np.asarray(bboxes, np.float64).reshape(-1, 4)
    return float(margin) * np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / float(portrait_size)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def native_regions(bboxes, img_shape: Sequence[int], margin: float,
                   portrait_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Person regions at the frame's resolution and their portrait scales (module docstring).

    Returns (regions (M, 4) int64 xyxy end-exclusive, even coordinates except at an odd image border,
    pairwise disjoint, sorted top to bottom then left to right; scales (M,) float64, k per region).
    """
    if isinstance(portrait_size, bool) or int(portrait_size) != portrait_size or portrait_size < 1:
        raise ValueError(f'portrait_size must be an integer >= 1, got {portrait_size!r}')
    h, w = int(img_shape[0]), int(img_shape[1])
    boxes = np.asarray(bboxes if bboxes is not None else [], dtype=np.float64).reshape(-1, 4)
    regions, scales = [], []
    for box in boxes:
        r = person_regions(box[None], img_shape, margin)
        if not len(r):
            continue
        x0, y0, x1, y1 = (int(v) for v in r[0])
        regions.append([x0 - x0 % 2, y0 - y0 % 2, min(x1 + x1 % 2, w), min(y1 + y1 % 2, h)])
        scales.append(float(portrait_scales(box, margin, portrait_size)[0]))
    merged = True
    while merged:  # union of overlapping regions until all are disjoint (few people: quadratic is fine)
        merged = False
        for i in range(len(regions)):
            for j in range(i + 1, len(regions)):
                if _overlap(regions[i], regions[j]):
                    a, b = regions[i], regions.pop(j)
                    regions[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    scales[i] = max(scales[i], scales.pop(j))
                    merged = True
                    break
            if merged:
                break
    if not regions:
        return np.zeros((0, 4), np.int64), np.zeros((0, ), np.float64)
    order = sorted(range(len(regions)), key=lambda i: (regions[i][1], regions[i][0]))
    return (np.asarray([regions[i] for i in order], np.int64),
            np.asarray([scales[i] for i in order], np.float64))


def region_tiles(region: Sequence[int], tile: int) -> np.ndarray:
    """(T, 4) int64 tiles (x0, y0, x1, y1) covering ``region`` row by row, ``tile`` px from its corner."""
    x0, y0, x1, y1 = (int(v) for v in region)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 4), np.int64)
    return np.asarray([[tx, ty, min(tx + tile, x1), min(ty + tile, y1)]
                       for ty in range(y0, y1, tile) for tx in range(x0, x1, tile)], np.int64)


def pad_tiles(tiles: Tensor, valid: Sequence[Tuple[int, int]]) -> Tensor:
    """Replicate each tile's valid (h, w) top-left part into the rest of it (a new tensor)."""
    size = tiles.shape[-2:]
    out = tiles.clone()
    for i, (vh, vw) in enumerate(valid):
        if (vh, vw) != tuple(size):
            out[i] = F.pad(tiles[i:i + 1, :, :vh, :vw], (0, size[1] - vw, 0, size[0] - vh), mode='replicate')[0]
    return out


def valid_mask(valid: Sequence[Tuple[int, int]], size: int, like: Tensor) -> Tensor:
    """(T, 1, size, size) bool: True on each tile's valid part."""
    mask = torch.zeros((len(valid), 1, size, size), dtype=torch.bool, device=like.device)
    for i, (vh, vw) in enumerate(valid):
        mask[i, :, :vh, :vw] = True
    return mask


def cut_tiles(img: Tensor, rects: np.ndarray, tile: int) -> Tuple[Tensor, List[Tuple[int, int]]]:
    """Tiles (T, C, tile, tile) of a (C, H, W) image at ``rects``, replicate-padded, and their valid sizes."""
    valid = [(int(y1 - y0), int(x1 - x0)) for x0, y0, x1, y1 in rects]
    out = img.new_zeros((len(rects), img.shape[0], tile, tile))
    for i, (x0, y0, x1, y1) in enumerate(rects):
        out[i, :, :y1 - y0, :x1 - x0] = img[:, y0:y1, x0:x1]
    return pad_tiles(out, valid), valid


def put_tiles(img: Tensor, tiles: Tensor, rects: np.ndarray) -> Tensor:
    """A copy of the (C, H, W) image with each tile's valid part written at its rect."""
    out = img.clone()
    for i, (x0, y0, x1, y1) in enumerate(rects):
        out[:, y0:y1, x0:x1] = tiles[i, :, :y1 - y0, :x1 - x0].to(out.dtype)
    return out


def context_window(region: Sequence[int], rect: Sequence[int], halo: int, grid: int) -> Rect:
    """The part of ``region`` from which A gives, inside ``rect``, exactly what A on the whole region gives.

    ``halo`` and ``grid`` come from ``Desensitizer.support``: a blur's taps reach ``halo`` px, and at the
    window's edges they fold back (reflect-101) by as much, hence 2·halo of context; pixelation blocks
    are anchored at the region's corner on a ``grid``-px lattice.
    """
    rx0, ry0, rx1, ry1 = (int(v) for v in region)
    x0, y0, x1, y1 = (int(v) for v in rect)

    def down(v, origin):
        return origin + (v - origin) // grid * grid

    def up(v, origin):
        return origin - (origin - v) // grid * grid

    return (max(rx0, down(x0 - 2 * halo, rx0)), max(ry0, down(y0 - 2 * halo, ry0)),
            min(rx1, up(x1 + 2 * halo, rx0)), min(ry1, up(y1 + 2 * halo, ry0)))


__all__ = ['person_regions', 'portrait_scales', 'native_regions', 'region_tiles', 'pad_tiles', 'valid_mask', 'cut_tiles',
           'put_tiles', 'context_window']
