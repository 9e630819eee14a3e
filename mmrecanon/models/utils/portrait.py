"""Person-portrait geometry: cut person crops x out of full frames and paste G_X(x) back.

Coordinates are continuous pixel coordinates: pixel (i, j) of an image spans [j, j+1) x [i, i+1)
and its centre is (j + 0.5, i + 0.5) -- the convention of COCO boxes and of
``torchvision.ops.roi_align(aligned=True)``. Crop pixel (u, v) of a box (x1, y1, x2, y2) cut to
S x S has its centre at (x1 + (u + 0.5) * (x2 - x1) / S, y1 + (v + 0.5) * (y2 - y1) / S).

* :func:`crop_portraits` samples that grid with roi_align; with ``sampling_ratio=-1`` roi_align
  takes ceil(box_side / S) samples per output pixel and axis, so downscaling averages
  (antialiased) and upscaling is bilinear. Points more than half a pixel outside the image take
  ``pad_value``; within that half pixel roi_align repeats the border pixel.
* :func:`paste_portraits` writes a crop onto the image pixels whose *centres* lie in the box
  ([x1, x2) x [y1, y2)), clipped to the image (:func:`portrait_mask`), by bilinear
  ``grid_sample(align_corners=False, padding_mode='border')`` at the inverse of the grid above, so
  crop -> paste round-trips geometrically. Sample positions are clamped to crop pixels that show
  image content, so a box partly outside the image does not blend ``pad_value`` into the image
  edge. Everything outside the written pixels is bit-identical to the input. Overlapping people
  are pasted in ascending box area, so the largest (usually nearest, occluding) person ends up
  on top.
"""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import roi_align

from .desensitize import check_nchw


def _check_boxes(boxes: Tensor, name: str = 'boxes') -> Tensor:
    if not isinstance(boxes, Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(boxes).__name__}')
    if boxes.numel() == 0:
        return boxes.reshape(0, 4)
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f'{name} must be (N, 4) xyxy, got shape {tuple(boxes.shape)}')
    return boxes


def _check_box_list(boxes: Sequence[Tensor], batch: int) -> List[Tensor]:
    if isinstance(boxes, Tensor) or not isinstance(boxes, (list, tuple)):
        raise TypeError(f'boxes must be a list of (Ni, 4) tensors (one per image), '
                        f'got {type(boxes).__name__}')
    if len(boxes) != batch:
        raise ValueError(f'boxes has {len(boxes)} entries but the batch has {batch} images')
    return [_check_boxes(b, f'boxes[{i}]') for i, b in enumerate(boxes)]


def square_boxes(bboxes: Tensor, margin: float = 1.25, min_size: float = 16.) -> Tensor:
    """Square boxes centred on ``bboxes`` with side max(max(w, h) * margin, min_size).

    margin 1.25 leaves context around the person (as MMPose's top-down ``padding=1.25``);
    min_size avoids degenerate crops from tiny/zero boxes.
    """
    bboxes = _check_boxes(bboxes, 'bboxes')
    if not bboxes.is_floating_point():
        bboxes = bboxes.float()
    if not (margin > 0 and min_size >= 0):
        raise ValueError(f'need margin > 0 and min_size >= 0, got {margin}, {min_size}')
    centre = (bboxes[:, :2] + bboxes[:, 2:]) / 2
    side = (bboxes[:, 2:] - bboxes[:, :2]).amax(dim=1) * margin
    half = side.clamp_min(min_size)[:, None] / 2
    return torch.cat([centre - half, centre + half], dim=1)


def _pixel_range(lo: float, hi: float, limit: int) -> Tuple[int, int]:
    """Integer pixels [start, end) whose centres k + 0.5 lie in [lo, hi), clipped to [0, limit)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0, 0
    start = min(max(math.ceil(lo - 0.5), 0), limit)
    end = min(max(math.ceil(hi - 0.5), 0), limit)
    return start, max(start, end)


def _box_pixels(box: Sequence[float], h: int, w: int) -> Tuple[int, int, int, int]:
    x0, x1 = _pixel_range(box[0], box[2], w)
    y0, y1 = _pixel_range(box[1], box[3], h)
    return x0, y0, x1, y1


def portrait_mask(shape: Tuple[int, int], boxes: Tensor) -> Tensor:
    """Bool (H, W) mask of the pixels :func:`paste_portraits` writes for ``boxes`` (N, 4)."""
    if len(shape) != 2:
        raise ValueError(f'shape must be (H, W), got {tuple(shape)}')
    boxes = _check_boxes(boxes)
    h, w = int(shape[0]), int(shape[1])
    mask = torch.zeros((h, w), dtype=torch.bool, device=boxes.device)
    for box in boxes.detach().double().tolist():
        x0, y0, x1, y1 = _box_pixels(box, h, w)
        mask[y0:y1, x0:x1] = True
    return mask


def crop_portraits(imgs: Tensor,
                   boxes: Sequence[Tensor],
                   size,
                   pad_value: float = 0.,
                   sampling_ratio: int = -1) -> Tensor:
    """Cut the person portraits x (S x S) out of a batch of frames.

    Args:
        imgs: (B, C, H, W) float frames.
        boxes: per-image (Ni, 4) xyxy boxes (usually :func:`square_boxes`).
        size: output side S, or (height, width) for non-square crops (P's top-down input).
        pad_value: value of areas outside the image.
        sampling_ratio: roi_align's samples per bin and axis (-1: adaptive, an area average for shrinking
            portraits; P's top-down crops keep the 2 × 2 samples they were trained with).
    Returns:
        (sum Ni, C, S, S) (or (.., height, width)) crops, image-major in box order; differentiable w.r.t.
        ``imgs``.
    """
    check_nchw(imgs, 'imgs')
    boxes = _check_box_list(boxes, imgs.shape[0])
    sides = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    if len(sides) != 2 or any(isinstance(v, bool) or int(v) != v or v < 1 for v in sides):
        raise ValueError(f'size must be an integer >= 1 or a pair of them, got {size!r}')
    size = (int(sides[0]), int(sides[1]))
    rois = [b.to(device=imgs.device, dtype=imgs.dtype) for b in boxes]
    total = sum(len(b) for b in rois)
    if total == 0:
        return imgs.new_zeros((0, imgs.shape[1]) + size)
    src = imgs - pad_value if pad_value != 0 else imgs
    # roi_align gives 0 outside the image (+ half a border pixel), hence the pad_value shift
    crops = roi_align(src, rois, output_size=size, spatial_scale=1.0,
                      sampling_ratio=sampling_ratio, aligned=True)
    return crops + pad_value if pad_value != 0 else crops


def _paste_grid(p0: int, p1: int, lo: float, hi: float, limit: int, size: int,
                like: Tensor) -> Tensor:
    """Normalised grid_sample coordinates (align_corners=False) of pixels [p0, p1) along one axis.

    Positions are clamped to the crop pixels whose whole bin lies in the image's valid sampling
    range [-0.5, limit + 0.5] (where roi_align sampled image content, not padding), so pasting
    never blends ``pad_value`` into the image near its border.
    """
    step = (hi - lo) / size
    # crop-pixel-centre coordinates: crop pixel u is centred at u
    u = (torch.arange(p0, p1, device=like.device, dtype=torch.float64) + 0.5 - lo) / step - 0.5
    u_lo = min(max(math.ceil((-0.5 - lo) / step - 1e-6), 0), size - 1)
    u_hi = min(max(math.floor((limit + 0.5 - lo) / step - 1 + 1e-6), 0), size - 1)
    if u_lo <= u_hi:
        u = u.clamp(u_lo, u_hi)
    return ((2 * u + 1) / size - 1).to(like.dtype)


def paste_portraits(imgs: Tensor, crops: Tensor, boxes: Sequence[Tensor]) -> Tensor:
    """Paste crops (e.g. privacy-enhanced y' = G_X(x)) back into their frames.

    Each crop is resampled onto the pixels :func:`portrait_mask` gives for its box and written
    there; per image, boxes are pasted in ascending area (largest person on top). Returns a new
    tensor, differentiable w.r.t. ``crops`` (and w.r.t. ``imgs`` outside the written pixels);
    pixels outside every box are bit-identical to ``imgs``.
    """
    check_nchw(imgs, 'imgs')
    check_nchw(crops, 'crops')
    boxes = _check_box_list(boxes, imgs.shape[0])
    if crops.shape[1] != imgs.shape[1]:
        raise ValueError(f'crops have {crops.shape[1]} channels but imgs have {imgs.shape[1]}')
    total = sum(len(b) for b in boxes)
    if crops.shape[0] != total:
        raise ValueError(f'got {crops.shape[0]} crops for {total} boxes')
    out = imgs.clone()
    h, w = imgs.shape[-2:]
    offset = 0
    for b, bxs in enumerate(boxes):
        bx = bxs.detach().double()
        area = (bx[:, 2] - bx[:, 0]) * (bx[:, 3] - bx[:, 1])
        order = torch.argsort(area, stable=True).tolist()
        bx = bx.tolist()
        for i in order:
            x1, y1, x2, y2 = bx[i]
            px0, py0, px1, py1 = _box_pixels(bx[i], h, w)
            if px1 <= px0 or py1 <= py0:
                continue
            crop = crops[offset + i:offset + i + 1]
            gx = _paste_grid(px0, px1, x1, x2, w, crops.shape[-1], crops)
            gy = _paste_grid(py0, py1, y1, y2, h, crops.shape[-2], crops)
            grid = torch.stack(torch.meshgrid(gy, gx, indexing='ij')[::-1], dim=-1)[None]
            patch = F.grid_sample(crop, grid, mode='bilinear', padding_mode='border',
                                  align_corners=False)
            out[b, :, py0:py1, px0:px1] = patch[0].to(out.dtype)
        offset += len(bxs)
    return out


def _check_kpts(kpts: Tensor, boxes: Tensor) -> Tensor:
    if not isinstance(kpts, Tensor) or kpts.dim() != 3 or kpts.shape[-1] != 2:
        shape = tuple(kpts.shape) if isinstance(kpts, Tensor) else type(kpts).__name__
        raise ValueError(f'keypoints must be an (N, K, 2) tensor, got {shape}')
    boxes = _check_boxes(boxes)
    if boxes.shape[0] != kpts.shape[0]:
        raise ValueError(f'{kpts.shape[0]} keypoint sets but {boxes.shape[0]} boxes')
    return boxes.to(kpts.dtype)


# guard against division by zero for degenerate (zero-size) boxes
_EPS = 1e-6


def keypoints_to_portrait(kpts: Tensor, boxes: Tensor, size: int) -> Tensor:
    """Map frame keypoints (N, K, 2) into their S x S portraits (crop geometry of this module).

    Both sides use continuous coordinates (pixel centres at k + 0.5). For keypoints whose pixel
    centres are at integers (cv2 / MMPose codec convention) add 0.5 before and subtract it after.
    """
    boxes = _check_kpts(kpts, boxes)
    lo, wh = boxes[:, None, :2], (boxes[:, None, 2:] - boxes[:, None, :2]).clamp_min(_EPS)
    return (kpts - lo) * (size / wh)


def keypoints_from_portrait(kpts: Tensor, boxes: Tensor, size: int) -> Tensor:
    """Inverse of :func:`keypoints_to_portrait`: portrait coords (N, K, 2) back to the frame."""
    boxes = _check_kpts(kpts, boxes)
    lo, wh = boxes[:, None, :2], (boxes[:, None, 2:] - boxes[:, None, :2]).clamp_min(_EPS)
    return kpts * (wh / size) + lo
