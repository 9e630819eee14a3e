"""Training tiles for recovery at the person's own resolution (``ReCanon(native_resolution=True)``)."""
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpose.registry import MODELS, TRANSFORMS

from ...models.utils.portrait import crop_portraits, square_boxes
from ...models.utils.tiles import context_window, cut_tiles, native_regions, region_tiles


@TRANSFORMS.register_module()
class NativePersonTile(BaseTransform):
    """One tile of a person at the image's own resolution with its A(x): what G_X and G_Y see in use.

    The regions, tiles, padding and A at the person's scale are those of the inference API
    (``models/utils/tiles.py``); A is computed on the tile's context window, which gives exactly the
    whole region's A inside the tile. With probability ``portrait_prob`` the sample is instead the whole
    person resampled to a ``tile`` × ``tile`` portrait with A at scale 1 (the portrait design's input,
    which ``tools/test.py`` and the frame-level P training use), so one G_X/G_Y pair serves both.

    Needs ``img`` (uint8 BGR) and ``bbox`` ((N, 4) xyxy). Writes ``img`` = x | A(x) as a tile × tile × 6
    float32 array in [0, 255] and ``tile_valid`` = (h, w) of its real part; returns None (the dataset
    draws another image) when no person box of at least ``min_size`` px is left.

    Args:
        desensitizer (dict): A, the same config as the model's ``desensitizer``.
        tile (int): the model's ``portrait_size``.
        margin (float): the model's ``portrait_margin``.
        portrait_prob (float): share of whole-person portraits.
        box_jitter (float): each box corner moves by up to this fraction of the box size (a detector's
            jitter), which also varies where the tile grid falls on the person.
        flip (bool): mirror x and A(x) together with probability 0.5.
        min_size (float): smaller person boxes (either side, px) are ignored.
        pick (str): 'region' draws a region (a person, or people whose regions overlap) and then one of
            its tiles, so every person counts once as in the frame-level metric and in privacy; 'tile'
            draws uniformly over all tiles of the image, which favours big people (many tiles).
    """

    def __init__(self, desensitizer: dict, tile: int = 128, margin: float = 1.25, portrait_prob: float = 0.25,
                 box_jitter: float = 0.05, flip: bool = True, min_size: float = 16., pick: str = 'region'):
        if not 0 <= portrait_prob <= 1:
            raise ValueError(f'portrait_prob must be in [0, 1], got {portrait_prob!r}')
        if pick not in ('region', 'tile'):
            raise ValueError(f"pick must be 'region' or 'tile', got {pick!r}")
        self.pick = pick
        self.desensitizer_cfg = dict(desensitizer)
        self.desensitizer = MODELS.build(self.desensitizer_cfg)
        self.tile = int(tile)
        self.margin = float(margin)
        self.portrait_prob = float(portrait_prob)
        self.box_jitter = float(box_jitter)
        self.flip = bool(flip)
        self.min_size = float(min_size)

    def _boxes(self, results: dict) -> np.ndarray:
        boxes = np.asarray(results.get('bbox', np.zeros((0, 4))), np.float64).reshape(-1, 4)
        wh = boxes[:, 2:] - boxes[:, :2]
        boxes = boxes[(wh >= self.min_size).all(axis=1)]
        if self.box_jitter > 0 and len(boxes):
            wh = np.tile(boxes[:, 2:] - boxes[:, :2], 2)
            boxes = boxes + np.random.uniform(-self.box_jitter, self.box_jitter, boxes.shape) * wh
        return boxes

    @torch.no_grad()
    def transform(self, results: dict) -> Optional[dict]:
        img = results['img']
        boxes = self._boxes(results)
        if not len(boxes):
            return None
        frame = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 127.5 - 1
        if np.random.rand() < self.portrait_prob:
            box = torch.as_tensor(boxes[np.random.randint(len(boxes))][None], dtype=torch.float32)
            x = crop_portraits(frame[None], [square_boxes(box, self.margin)], self.tile)
            a, valid = self.desensitizer(x), (self.tile, self.tile)
        else:
            regions, scales = native_regions(boxes, img.shape[:2], self.margin, self.tile)
            if not len(regions):
                return None
            if self.pick == 'region':
                i = np.random.randint(len(regions))
                region, scale = regions[i], scales[i]
                rects = region_tiles(region, self.tile)
                rect = rects[np.random.randint(len(rects))]
            else:
                tiles = [(r, k, t) for r, k in zip(regions, scales) for t in region_tiles(r, self.tile)]
                region, scale, rect = tiles[np.random.randint(len(tiles))]
            wx0, wy0, wx1, wy1 = context_window(region, rect, *self.desensitizer.support(scale))
            window = frame[None, :, wy0:wy1, wx0:wx1]
            a_win = self.desensitizer(window, scale=scale)[0]
            local = np.asarray([[rect[0] - wx0, rect[1] - wy0, rect[2] - wx0, rect[3] - wy0]])
            x, (valid, ) = cut_tiles(window[0], local, self.tile)
            a, _ = cut_tiles(a_win, local, self.tile)
        pair = torch.cat([x, a], dim=1)[0]
        if self.flip and np.random.rand() < 0.5:  # mirror the real part, keep it at the top-left
            vh, vw = valid
            pair[:, :vh, :vw] = pair[:, :vh, :vw].flip(-1)
            pair, _ = cut_tiles(pair[:, :vh, :vw], np.asarray([[0, 0, vw, vh]]), self.tile)
            pair = pair[0]
        results['img'] = ((pair + 1) * 127.5).permute(1, 2, 0).numpy().astype(np.float32)
        results['img_shape'] = (self.tile, self.tile)
        results['tile_valid'] = tuple(int(v) for v in valid)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(desensitizer={self.desensitizer_cfg}, tile={self.tile}, '
                f'margin={self.margin}, portrait_prob={self.portrait_prob}, box_jitter={self.box_jitter}, '
                f'flip={self.flip}, pick={self.pick!r})')
