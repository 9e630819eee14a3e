"""Recovery at the person's own resolution: regions, tiles, A at the person's scale, carriers on padded
tiles, the training tiles and the inference API's native path (models/utils/tiles.py)."""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmrecanon  # noqa: F401
from mmrecanon.datasets.transforms.tiles import NativePersonTile
from mmrecanon.models.utils.carrier import HaarCarrier
from mmrecanon.models.utils.desensitize import Desensitizer
from mmrecanon.models.utils.keylock import haar2d, random_keys, tile_nonce
from mmrecanon.models.utils.tiles import (context_window, cut_tiles, native_regions, pad_tiles, put_tiles,
                                          region_tiles)


def test_native_regions_merge_overlaps_align_to_even_pixels_and_scale_A():
    regions, scales = native_regions([[10, 20, 110, 300], [100, 30, 200, 310], [401, 401, 421, 431]],
                                     (480, 640), margin=1.25, portrait_size=128)
    # the first two overlap once scaled by 1.25: one region, their union, with the larger scale
    assert regions.tolist() == [[0, 0, 214, 346], [398, 396, 424, 436]]
    assert scales.tolist() == pytest.approx([1.25 * 280 / 128, 1.25 * 30 / 128])
    assert (regions % 2 == 0).all()
    # clipped to the image; an odd image border is the one place a side may stay odd
    r, _ = native_regions([[0, 0, 99, 50]], (51, 99), 1.0, 128)
    assert r.tolist() == [[0, 0, 99, 50]]
    r, s = native_regions(np.zeros((0, 4)), (10, 10), 1.25, 128)
    assert r.shape == (0, 4) and s.shape == (0, )


def test_region_tiles_cover_the_region_once():
    tiles = region_tiles((6, 4, 300, 140), 128)
    assert tiles.tolist() == [[6, 4, 134, 132], [134, 4, 262, 132], [262, 4, 300, 132],
                              [6, 132, 134, 140], [134, 132, 262, 140], [262, 132, 300, 140]]
    cover = np.zeros((150, 310), int)
    for x0, y0, x1, y1 in tiles:
        cover[y0:y1, x0:x1] += 1
    assert cover.sum() == 294 * 136 and cover.max() == 1


@pytest.mark.parametrize('kind,strength,scales', [('blur', 8, (0.3, 1.0, 2.7)), ('pixelate', 12, (0.5, 1.3, 3.1))])
def test_A_on_the_context_window_equals_A_on_the_whole_region(kind, strength, scales):
    desensitizer = Desensitizer(kind, radius=strength, block=strength)
    img = torch.rand(1, 3, 300, 260, generator=torch.Generator().manual_seed(0)) * 2 - 1
    region = (0, 0, 260, 300)
    for scale in scales:
        full = desensitizer(img, scale=scale)
        for rect in region_tiles(region, 128):
            wx0, wy0, wx1, wy1 = context_window(region, rect, *desensitizer.support(scale))
            part = desensitizer(img[:, :, wy0:wy1, wx0:wx1], scale=scale)
            x0, y0, x1, y1 = rect
            torch.testing.assert_close(part[..., y0 - wy0:y1 - wy0, x0 - wx0:x1 - wx0],
                                       full[..., y0:y1, x0:x1], atol=1e-5, rtol=0)
    assert desensitizer.support(2.0) == ((int(np.ceil(48)), 1) if kind == 'blur' else (0, 24))


def test_scaled_A_is_the_portrait_A_of_a_bigger_person():
    """Blur σ·k at k× the resolution, downsampled k×, is close to blur σ on the downsampled image."""
    img = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    big = F.interpolate(img, scale_factor=4, mode='nearest')
    a = Desensitizer('blur', radius=2, clamp=None)
    down = F.avg_pool2d(a(big, scale=4), 4)
    assert (down - a(img)).abs().mean() < 0.02


def test_cut_pad_put_tiles_round_trip():
    img = torch.arange(3 * 20 * 30, dtype=torch.float32).reshape(3, 20, 30)
    rects = region_tiles((2, 4, 30, 20), 16)
    tiles, valid = cut_tiles(img, rects, 16)
    assert rects.tolist() == [[2, 4, 18, 20], [18, 4, 30, 20]] and valid == [(16, 16), (16, 12)]
    # the padding repeats the last real row / column
    vh, vw = valid[1]
    assert torch.equal(tiles[1, :, :vh, vw:], tiles[1, :, :vh, vw - 1:vw].expand(-1, -1, 16 - vw))
    back = put_tiles(torch.zeros_like(img), tiles, rects)
    assert torch.equal(back[:, 4:20, 2:30], img[:, 4:20, 2:30]) and back[:, :4].abs().sum() == 0


@pytest.mark.parametrize('keyed', [False, True])
def test_carrier_on_padded_tiles_is_the_carrier_of_the_real_part(keyed):
    torch.manual_seed(0)
    carrier = HaarCarrier(bound=0.1, keyed=keyed)
    # an A(x) stand-in with no Haar details (constant 2×2 blocks), so unlocking leaves G_X's carrier alone
    a = F.interpolate(torch.rand(3, 3, 8, 8) * 2 - 1, scale_factor=2, mode='nearest')
    g = torch.tanh(torch.randn(3, 3, 16, 16))
    valid = [(16, 16), (10, 6), (7, 16)]
    keys, nonces = random_keys(3) if keyed else (None, None)
    y = carrier.lock(g, a, keys, nonces, valid)
    for i, (vh, vw) in enumerate(valid):
        eh, ew = vh // 2 * 2, vw // 2 * 2
        k, n = (None, None) if not keyed else ([keys[i]], [nonces[i]])
        alone = carrier.lock(g[i:i + 1, :, :eh, :ew], a[i:i + 1, :, :eh, :ew], k, n)
        torch.testing.assert_close(y[i:i + 1, :, :eh, :ew], alone)
        # an odd last row stays A(x); the padding replicates the real part
        torch.testing.assert_close(y[i, :, eh:vh, :vw], a[i, :, eh:vh, :vw])
        torch.testing.assert_close(y[i:i + 1], pad_tiles(y[i:i + 1], [(vh, vw)]))
    # unlock inverts lock on the real part: the low band is A's, the details are G_X's carrier
    u = carrier.unlock(y, keys, nonces, valid)
    eh, ew = 10, 6
    low_u, det_u = haar2d(u[1:2, :, :eh, :ew])
    low_a, _ = haar2d(a[1:2, :, :eh, :ew])
    _, det_g = haar2d(0.1 * g[1:2, :, :eh, :ew])
    torch.testing.assert_close(low_u, low_a, atol=1e-5, rtol=0)
    torch.testing.assert_close(det_u, det_g, atol=1e-5, rtol=0)


def test_tile_nonces_differ_per_tile_and_are_deterministic():
    n = bytes(range(16))
    assert tile_nonce(n, 0) != tile_nonce(n, 1) and tile_nonce(n, 3) == tile_nonce(n, 3)
    assert len(tile_nonce(n, 0)) == 16


def test_native_person_tile_matches_the_inference_tiles():
    desensitizer = dict(type='Desensitizer', kind='blur', radius=8)
    t = NativePersonTile(desensitizer, tile=64, margin=1.25, portrait_prob=0.0, box_jitter=0.0, flip=False)
    with pytest.raises(ValueError, match='pick'):
        NativePersonTile(desensitizer, pick='person')
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
    box = np.array([[40., 20., 120., 130.]])
    np.random.seed(3)
    out = t.transform(dict(img=img.copy(), bbox=box))
    pair, valid = out['img'], out['tile_valid']
    assert pair.shape == (64, 64, 6) and pair.dtype == np.float32
    # the tile is one of the region's tiles, and its A is the whole region's A at the region's scale
    (region, ), (scale, ) = native_regions(box, img.shape[:2], 1.25, 64)
    frame = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 127.5 - 1
    x0, y0, x1, y1 = region
    a_region = Desensitizer('blur', radius=8)(frame[:, :, y0:y1, x0:x1], scale=scale)[0]
    found = 0
    for rx0, ry0, rx1, ry1 in region_tiles(region, 64):
        if (ry1 - ry0, rx1 - rx0) != valid:
            continue
        x = img[ry0:ry1, rx0:rx1].astype(np.float32)
        if np.allclose(pair[:valid[0], :valid[1], :3], x, atol=1e-3):
            a = (a_region[:, ry0 - y0:ry1 - y0, rx0 - x0:rx1 - x0].permute(1, 2, 0).numpy() + 1) * 127.5
            np.testing.assert_allclose(pair[:valid[0], :valid[1], 3:], a, atol=1e-3)
            found += 1
    assert found == 1
    assert t.transform(dict(img=img, bbox=np.array([[0, 0, 5, 5.]]))) is None  # nobody big enough


@pytest.fixture(scope='module')
def native_model():
    from mmrecanon.apis import init_recanon
    return init_recanon('configs/cpu/recanon-native_blur_people-mini_tiles.py', None)


def test_native_anonymize_keeps_the_background_and_the_low_band_of_A(native_model):
    from mmrecanon.apis import anonymize_image, recover_image
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (180, 260, 3), dtype=np.uint8)
    img = np.ascontiguousarray(np.repeat(np.repeat(img[::4, ::4], 4, 0), 4, 1)[:180, :260])
    boxes = np.array([[30, 20, 110, 170], [150, 40, 230, 160]], np.float32)
    anon = anonymize_image(native_model, img, boxes=boxes)
    conv = anonymize_image(native_model, img, boxes=boxes, use_desensitizer=True)['enhanced']
    regions = np.asarray(anon['boxes'])
    assert np.array_equal(regions, np.round(regions)) and (regions % 2 == 0).all()
    outside = np.ones(img.shape[:2], bool)
    for x0, y0, x1, y1 in regions.astype(int):
        outside[y0:y1, x0:x1] = False
        # what the eye sees best (every 2×2 block mean) is A(x)'s, up to 8-bit rounding
        y = anon['enhanced'][y0:y1, x0:x1].astype(np.float32)
        a = conv[y0:y1, x0:x1].astype(np.float32)
        blocks = lambda v: v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2, 3).mean((1, 3))  # noqa: E731
        assert np.abs(blocks(y) - blocks(a)).max() <= 1.5
        assert np.abs(y - a).max() > 2  # and there is a carrier
    assert np.array_equal(anon['enhanced'][outside], img[outside])
    rec = recover_image(native_model, anon['enhanced'], anon['boxes'])
    assert np.array_equal(rec[outside], img[outside])
    with pytest.raises(ValueError, match='whole-pixel'):
        recover_image(native_model, anon['enhanced'], (regions + 0.5).tolist())


def test_native_key_lock_scrambles_each_tile_with_the_key(native_model):
    from mmrecanon.apis import (KeyLockError, anonymize_image, init_recanon, recover_image,
                                recover_without_key)
    from mmrecanon.models.utils.keylock import generate_key
    keyed = init_recanon('configs/cpu/recanon-native-keyed_blur_people-mini_tiles.py', None)
    keyed.load_state_dict(native_model.state_dict())  # the same G_X/G_Y: only the scramble differs
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (150, 300, 3), dtype=np.uint8)
    boxes = np.array([[20, 10, 250, 140]], np.float32)  # one region of 2 × 3 tiles
    k1, k2 = generate_key(), generate_key()
    a1 = anonymize_image(keyed, img, boxes=boxes, key=k1, estimate=False)
    a2 = anonymize_image(keyed, img, boxes=boxes, key=k2, estimate=False)
    plain = anonymize_image(native_model, img, boxes=boxes, estimate=False)
    assert len(a1['nonces']) == 1 == len(a1['boxes'])  # one public nonce per region; tiles derive theirs
    x0, y0, x1, y1 = np.asarray(a1['boxes'][0], int)
    d1, d2, dp = (v['enhanced'][y0:y1, x0:x1].astype(int) for v in (a1, a2, plain))
    # the same carrier energy, scrambled differently by each key (and unlike the public scramble)
    assert (d1 != d2).mean() > 0.5 and (d1 != dp).mean() > 0.5
    with pytest.raises(KeyLockError):
        recover_image(keyed, a1['enhanced'], a1['boxes'], key=k2, nonces=a1['nonces'], key_check=a1['key_check'])
    back = recover_image(keyed, a1['enhanced'], a1['boxes'], key=k1, nonces=a1['nonces'])
    nokey = recover_without_key(keyed, a1['enhanced'], a1['boxes'])
    assert back.shape == nokey.shape == img.shape and not np.array_equal(back, nokey)
    with pytest.raises(KeyLockError):
        recover_without_key(native_model, plain['enhanced'], plain['boxes'])


def test_source_batch_sampler_keeps_each_batch_to_one_part():
    from mmengine.dataset import DefaultSampler
    from torch.utils.data import ConcatDataset

    from mmrecanon.datasets import SourceBatchSampler
    data = ConcatDataset([list(range(20)), list(range(100, 150))])  # 20 "frames", 50 "tiles"
    sampler = DefaultSampler(data, shuffle=True, seed=0)
    batches = list(SourceBatchSampler(sampler, batch_size=4, batch_sizes=(4, 12)))
    parts = [{i >= 20 for i in b} for b in batches]
    assert all(len(p) == 1 for p in parts)  # never a mixed batch
    sizes = sorted(len(b) for b in batches)
    assert sizes == [4] * 5 + [12] * 4  # 20 // 4 frame batches, 50 // 12 tile batches (drop_last)
    assert len(SourceBatchSampler(sampler, 4, (4, 12))) == 9
    kinds = [next(iter(p)) for p in parts]
    assert kinds != sorted(kinds)  # shuffled: the kinds interleave
    keep = list(SourceBatchSampler(sampler, 4, (4, 12), drop_last=False))
    assert sorted(i for b in keep for i in b) == list(range(70))
    with pytest.raises(ValueError, match='ConcatDataset'):
        SourceBatchSampler(DefaultSampler(list(range(8)), shuffle=False), 4)
    with pytest.raises(ValueError, match='one integer'):
        SourceBatchSampler(sampler, 4, (4,))


def test_tile_batches_in_a_joint_run_train_G_only():
    """λ3 > 0 and a batch of native-resolution tiles (the mixed "Ours" run): G_X and G_Y learn from the L1
    terms, P gets no step (it has no frame to see)."""
    import copy

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmpose.registry import MODELS
    from mmpose.structures import PoseDataSample

    cfg = Config.fromfile('configs/cpu/recanon-ours_blur_people-mini_yolo.py')
    model_cfg = cfg.model.to_dict()
    model_cfg['pose_estimator'].pop('init_cfg', None)
    model_cfg.update(zeroshot_pose_estimator=None, zeroshot_checkpoint=None, portrait_size=32,
                     enhancer=dict(type='UnetGenerator', num_downs=5, base_channels=8),
                     recoverer=dict(type='UnetGenerator', num_downs=5, base_channels=8))
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    assert model.pose_loss_weight > 0
    adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
    optim = build_optim_wrapper(model, dict(constructor='PerNetworkOptimWrapperConstructor', enhancer=adam,
                                            recoverer=adam, pose_estimator=adam))
    t = NativePersonTile(cfg.desensitizer, tile=32, margin=1.25, portrait_prob=0.0)
    rng = np.random.default_rng(0)
    inputs, samples = [], []
    for _ in range(2):
        out = t.transform(dict(img=rng.integers(0, 256, (90, 70, 3), dtype=np.uint8),
                               bbox=np.array([[10., 10., 60., 80.]])))
        inputs.append(torch.from_numpy(out['img']).permute(2, 0, 1))
        samples.append(PoseDataSample(metainfo=dict(tile_valid=out['tile_valid'])))
    before = {n: copy.deepcopy(getattr(model, n).state_dict()) for n in ('enhancer', 'recoverer', 'pose_estimator')}
    log = model.train_step(dict(inputs=inputs, data_samples=samples), optim)
    assert set(k for k in log if k.startswith('loss')) == {'loss', 'loss_xy', 'loss_cons'}
    changed = {n for n, sd in before.items()
               if any(not torch.equal(v, getattr(model, n).state_dict()[k]) for k, v in sd.items())}
    assert changed == {'enhancer', 'recoverer'}


@pytest.mark.skipif(not os.path.isdir('../shared/data/people-mini'), reason='people-mini not found at ../shared/data')
def test_ours_config_loads_frame_and_tile_batches():
    """The joint "Ours" config's loader: batches of 8 frames (3 channels, with keypoints) and of 24 tiles
    (x | A(x), 6 channels), never mixed, about as many of each per epoch."""
    from mmengine.runner import Runner

    from mmrecanon.runtime import load_config
    cfg = load_config('configs/cpu/recanon-ours_blur_people-mini_yolo.py',
                      {'train_dataloader.num_workers': 0})
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    kinds = set()
    for i, batch in enumerate(loader):
        channels = {int(x.shape[0]) for x in batch['inputs']}
        assert len(channels) == 1  # one kind per batch
        kinds.add((channels.pop(), len(batch['inputs'])))
        if len(kinds) == 2 or i == 12:
            break
    assert kinds == {(3, 8), (6, 24)}
    assert 30 <= len(loader) // 2 <= 40  # 37 frame batches + 37 tile batches


def test_native_y_carries_each_persons_band_at_the_persons_scale_inside_its_region():
    """Tiles get no band of their own; the band is B of each person's whole portrait, resampled onto the
    frame (ReCanon.frame_band) and added inside the native regions only."""
    from mmrecanon.apis import anonymize_image, init_recanon
    band_cfg = dict(type='PoseBand', features=8, bound=0.1,
                    generator=dict(type='UnetGenerator', num_downs=5, base_channels=8, use_dropout=False))
    model = init_recanon('configs/cpu/recanon-native_blur_people-mini_tiles.py', None,
                         cfg_options={'model.pose_band': band_cfg})
    torch.manual_seed(0)
    torch.nn.init.normal_(model.pose_band.mix.weight, std=5.0)  # a trained, saturated band
    rng = np.random.default_rng(3)
    img = rng.integers(64, 192, (200, 300, 3), dtype=np.uint8)
    boxes = np.array([[30, 20, 110, 180], [180, 60, 260, 170]], np.float32)
    banded = anonymize_image(model, img, boxes=boxes, estimate=False)
    with torch.no_grad():
        expected = model.frame_band(torch.from_numpy(img).permute(2, 0, 1)[None].float(), torch.from_numpy(boxes))
        expected = (expected[0] * 127.5).permute(1, 2, 0).numpy()
        model.pose_band.mix.weight.zero_()  # B = 0: y' of the same model without a band
    plain = anonymize_image(model, img, boxes=boxes, estimate=False)
    diff = banded['enhanced'].astype(np.float32) - plain['enhanced'].astype(np.float32)
    inside = np.zeros(img.shape[:2], bool)
    for x0, y0, x1, y1 in np.asarray(banded['boxes'], int):
        inside[y0:y1, x0:x1] = True
    assert np.abs(diff[~inside]).max() == 0 and np.array_equal(banded['enhanced'][~inside], img[~inside])
    assert np.abs(diff[inside]).max() > 5  # a band of up to ±12.75 grey levels is there
    assert np.abs(diff[inside] - expected[inside]).max() <= 1.01  # and it is frame_band, up to 8-bit rounding
    assert np.abs(expected[~inside]).max() > 0  # frame_band reaches past the regions; y' does not
    # constant on the frame's 2×2 blocks: in the Haar low band of every tile (regions start on even pixels)
    corners = np.asarray(banded['boxes'], int)[:, :2]
    assert corners.min() >= 0 and (corners % 2 == 0).all()
    blocks = expected.reshape(100, 2, 150, 2, 3)
    assert np.abs(blocks - blocks.mean(axis=(1, 3), keepdims=True)).max() < 1e-4
    # a tile never gets a band of its own
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    torch.nn.init.normal_(model.pose_band.mix.weight, std=5.0)
    with torch.no_grad():
        tiles = model.enhance(x, valid=[(128, 100), (60, 128)])
        model.pose_band.mix.weight.zero_()
        assert torch.equal(tiles, model.enhance(x, valid=[(128, 100), (60, 128)]))


def test_api_pose_frames_are_the_apis_output_losslessly(tmp_path, tiny_coco):
    """tools/analysis/api_pose.py: every view of every image is what the inference API returns for the image's
    ground-truth boxes (PNG, lossless), under the image's own name; --frames refuses a folder it did not write."""
    import json
    import sys
    from pathlib import Path

    import cv2
    from mmpose.structures.bbox import bbox_xywh2xyxy

    from mmrecanon.apis import anonymize_image, init_recanon
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools' / 'analysis'))
    import api_pose
    root = tiny_coco
    coco = json.loads((root / 'test_coco.json').read_text())
    keep = [i for i in coco['images'] if any(a['image_id'] == i['id'] for a in coco['annotations'])][:2]
    ids = {i['id'] for i in keep}
    small = dict(coco, images=keep, annotations=[a for a in coco['annotations'] if a['image_id'] in ids])
    (tmp_path / 'ann.json').write_text(json.dumps(small))
    model = init_recanon('configs/cpu/recanon-native_blur_people-mini_tiles.py', None)
    views = api_pose.write_frames(model, dict(data_root=str(root), ann_file=str(tmp_path / 'ann.json'),
                                              data_prefix=dict(img='')), str(tmp_path / 'frames'), None)
    assert set(views) == {'conventional', 'enhanced', 'recovered'}
    png = json.loads(Path(views['enhanced']['ann_file']).read_text())
    assert [i['file_name'] for i in png['images']] == [i['file_name'][:-4] + '.png' for i in keep]
    assert png['annotations'] == small['annotations']
    info = keep[0]
    img = cv2.imread(str(root / info['file_name']))
    boxes = bbox_xywh2xyxy(np.asarray([a['bbox'] for a in small['annotations'] if a['image_id'] == info['id']],
                                      np.float32))
    expected = anonymize_image(model, img, boxes=boxes, use_desensitizer=True, estimate=False)['enhanced']
    name = info['file_name'][:-4] + '.png'
    got = cv2.imread(views['conventional']['data_prefix']['img'] + name)
    assert np.array_equal(got, expected) and not np.array_equal(got, img)
    enhanced = cv2.imread(views['enhanced']['data_prefix']['img'] + name)
    assert enhanced.shape == img.shape and np.abs(enhanced.astype(int) - img).max() > 0
    assert api_pose.frame_views(str(tmp_path / 'frames')) == views
    with pytest.raises(SystemExit):
        api_pose.frame_views(str(tmp_path))
