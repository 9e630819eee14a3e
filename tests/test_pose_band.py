"""The pose band (models/pose_band.py): zero at the start, low band only, bounded, off the face, and
trained by what the docstrings say."""
import copy

import pytest
import torch

import mmrecanon  # noqa: F401
from mmpose.registry import MODELS
from mmrecanon.models.pose_band import FaceSuppressionLoss, PoseBand, TemplateBand, portrait_keypoints
from mmrecanon.models.utils.keylock import haar2d
from test_recanon import PORTRAIT, small_model_cfg, train_batch  # noqa: F401  (fixture)

# F sees half-size portraits (16 px here): a small ResNet generator (the U-Net 5 of the configs needs 32)
BAND = dict(type='PoseBand', features=8, bound=0.1,
            generator=dict(type='ResnetGenerator', base_channels=8, num_blocks=1))
CARRIER = dict(type='HaarCarrier', bound=0.1)


def test_band_starts_below_a_grey_level_and_stays_in_the_low_band_within_its_bound():
    torch.manual_seed(0)
    band = PoseBand(**{k: v for k, v in BAND.items() if k != 'type'})
    band.init_weights()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    start = band(x)
    assert 0 < start.abs().max() < 0.5 / 127.5  # not zero (F needs W's gradient), below half a grey level
    torch.nn.init.normal_(band.mix.weight, std=5.0)  # a trained, saturated band
    b = band(x)
    assert b.abs().max() <= 0.1 + 1e-6 and b.abs().max() > 0.05
    _, details = haar2d(b)
    assert details.abs().max() < 1e-6  # 2×2 block means: nothing in the detail bands (the carrier's)
    with pytest.raises(ValueError, match='out_channels'):
        PoseBand(generator=dict(BAND['generator'], out_channels=3), features=8)
    with pytest.raises(ValueError, match='mix_std'):
        PoseBand(generator=BAND['generator'], features=8, mix_std=0.0)


def test_template_band_is_one_image_for_everybody():
    torch.manual_seed(0)
    band = TemplateBand(size=16, bound=0.2, init_std=1.0)
    a, b = band(torch.rand(2, 3, 16, 16)), band(-torch.ones(1, 3, 16, 16))
    assert torch.equal(a[0], a[1]) and torch.equal(a[0], b[0])  # x is ignored
    assert a.abs().max() <= 0.2 and a.abs().max() > 0.1
    assert haar2d(a)[1].abs().max() < 1e-6  # the low band only, as PoseBand
    with pytest.raises(ValueError, match='size=16'):
        band(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match='even'):
        TemplateBand(size=15)


def test_face_mask_is_a_disc_over_the_face_keypoints_and_the_loss_its_mean():
    loss = FaceSuppressionLoss(loss_weight=10.0, radius_scale=1.0, min_radius=0.1)
    kpts = torch.zeros(3, 17, 2)
    vis = torch.zeros(3, 17)
    kpts[0, 1], kpts[0, 2] = torch.tensor([10., 10.]), torch.tensor([18., 10.])  # two eyes, 8 px apart
    vis[0, 1:3] = 1
    kpts[1, 0] = torch.tensor([20., 20.])  # a nose alone: the minimum radius (0.1 × 32 = 3.2 px)
    vis[1, 0] = 1
    kpts[2, 10] = torch.tensor([5., 5.])  # a wrist only: no face, counts nothing
    vis[2, 10] = 1
    masks = loss.face_masks(kpts, vis, 32)
    assert masks[0, 0, 10, 14] == 1 and masks[0, 0, 10, 21] == 1 and masks[0, 0, 10, 23] == 0  # r = 8 at (14, 10)
    assert masks[1].sum() == pytest.approx(3.14159 * 3.2 ** 2, rel=0.25)
    assert masks[2].sum() == 0
    band = torch.zeros(3, 3, 32, 32, requires_grad=True)
    with torch.no_grad():
        band[0] += 0.05 * masks[0]  # 0.05 inside person 0's face, nothing anywhere else
        band[2] += 1.0  # person 2 has no face: not counted
    value = loss(band, kpts, vis)
    assert value.item() == pytest.approx(10.0 * 0.05 ** 2 / 2)  # (0.05² + 0) / 2 people with a face
    grad, = torch.autograd.grad(value, band)
    assert grad[2].abs().sum() == 0 and grad[0][:, masks[0, 0] == 0].abs().sum() == 0
    assert loss(band[2:], kpts[2:], vis[2:]).item() == 0.0  # nobody with a face


def test_a_model_with_the_band_starts_as_the_model_without_it(train_batch):  # noqa: F811
    torch.manual_seed(0)
    plain = MODELS.build(small_model_cfg(carrier=CARRIER, recover_residual=True, disc_enhanced=None,
                                         disc_recovered=None))
    plain.init_weights()
    banded = MODELS.build(small_model_cfg(carrier=CARRIER, recover_residual=True, disc_enhanced=None,
                                          disc_recovered=None, pose_band=BAND,
                                          band_face_loss=dict(type='FaceSuppressionLoss')))
    banded.init_weights()
    banded.load_state_dict(plain.state_dict(), strict=False)  # the band keeps its own (near-zero) weights
    x = torch.rand(3, 3, PORTRAIT, PORTRAIT) * 2 - 1
    y0, y1 = plain.eval().translate(x)['enhanced'], banded.eval().translate(x)['enhanced']
    assert (y0 - y1).abs().max() <= 1 / 127.5 + 1e-6  # 8-bit y': at most one level where rounding flips
    assert (y0 - y1).abs().mean() < 0.2 / 127.5  # on average a fifth of a level
    with pytest.raises(ValueError, match='needs a carrier'):
        MODELS.build(small_model_cfg(pose_band=BAND))
    with pytest.raises(ValueError, match='needs pose_band'):
        MODELS.build(small_model_cfg(carrier=CARRIER, band_face_loss=dict(type='FaceSuppressionLoss')))


def test_band_is_trained_by_the_pose_loss_on_y_and_kept_off_faces(train_batch):  # noqa: F811
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    model = MODELS.build(small_model_cfg(carrier=CARRIER, recover_residual=True, disc_enhanced=None,
                                         disc_recovered=None, pose_band=BAND,
                                         band_face_loss=dict(type='FaceSuppressionLoss', min_radius=0.2)))
    model.init_weights()
    torch.nn.init.normal_(model.pose_band.mix.weight, std=0.5)  # a band that is not zero any more
    model.train()
    data = model.data_preprocessor(copy.deepcopy(train_batch), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['loss_band_face'].item() > 0
    band_params = list(model.pose_band.parameters())

    def reaches_band(loss):
        grads = torch.autograd.grad(loss, band_params, retain_graph=True, allow_unused=True)
        return any(g is not None and g.abs().sum() > 0 for g in grads)

    pose_p = sum(v for k, v in losses.items() if k.startswith('loss') and k.endswith('_p'))
    pose_r = sum(v for k, v in losses.items() if k.startswith('loss') and k.endswith('_r'))
    assert reaches_band(pose_p) and reaches_band(losses['loss_band_face'])
    assert not reaches_band(losses['loss_cons']) and not reaches_band(pose_r)  # G_Y's side does not train B
    enhancer_grads = torch.autograd.grad(losses['loss_band_face'], list(model.enhancer.parameters()),
                                         retain_graph=True, allow_unused=True)
    assert all(g is None or g.abs().sum() == 0 for g in enhancer_grads)  # the face term is the band's alone
    # the face keypoints the loss used are the portrait coordinates of the ground truth
    boxes = model.portrait_boxes(data['data_samples'], use_meta=False)
    kpts, vis = portrait_keypoints(data['data_samples'], boxes, PORTRAIT)
    assert kpts.shape == (sum(len(b) for b in boxes), 17, 2) and vis.shape == kpts.shape[:2]
    seen = vis > 0
    assert ((kpts[seen] >= -1) & (kpts[seen] <= PORTRAIT + 1)).float().mean() > 0.9  # inside their portraits

    adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
    optim = build_optim_wrapper(model, dict(constructor='PerNetworkOptimWrapperConstructor', enhancer=adam,
                                            recoverer=adam, pose_band=adam, pose_estimator=adam))
    before = copy.deepcopy(model.pose_band.state_dict())
    log = model.train_step(copy.deepcopy(train_batch), optim)
    assert log['band_grey'] > 0  # logged (mean |B| in grey levels), not summed into the loss:
    assert log['loss'].item() == pytest.approx(sum(v.item() for k, v in log.items() if k.startswith('loss_')), rel=1e-5)
    assert any(not torch.equal(v, model.pose_band.state_dict()[k]) for k, v in before.items())


def test_a_banded_model_refuses_a_checkpoint_without_its_band(tmp_path):
    """The band is part of the camera's y': loading weights without it fails in one line (no random band),
    the camera export and the demo asset keep it."""
    from mmengine.config import Config

    from mmrecanon.apis import init_recanon
    from mmrecanon.io.checkpoint import CAMERA_DROP, DEMO_KEEP, POSE_BAND
    cfg = Config.fromfile('tests/configs/recanon_tiny.py')
    cfg.model.update(carrier=CARRIER, recover_residual=True, disc_enhanced=None, disc_recovered=None)
    plain = init_recanon(copy.deepcopy(cfg), None)
    torch.save({'state_dict': plain.state_dict()}, tmp_path / 'plain.pth')
    cfg.model.update(pose_band=BAND)
    banded = init_recanon(copy.deepcopy(cfg), None)
    torch.save({'state_dict': banded.state_dict()}, tmp_path / 'banded.pth')
    with pytest.raises(ValueError, match=r'weights missing \(e.g. pose_band\.'):
        init_recanon(copy.deepcopy(cfg), str(tmp_path / 'plain.pth'))
    loaded = init_recanon(copy.deepcopy(cfg), str(tmp_path / 'banded.pth'))
    assert torch.equal(loaded.pose_band.mix.weight, banded.pose_band.mix.weight)
    assert POSE_BAND in DEMO_KEEP and not POSE_BAND.startswith(CAMERA_DROP)


@pytest.mark.parametrize('config, lr, start, ssim', [
    ('configs/cpu/recanon-ours-band_blur_people-mini_yolo.py', 1e-3,
     'recanon-native-continued4-ssim_blur_people-mini.pth', 1.0),
    ('configs/cpu/recanon-ours-band_pixel_people-mini_yolo.py', 1e-3, 'work_dirs/native_ssim_pixel/generators.pth', 1.0),
    ('configs/ablations/recanon-ours-band-lr2e-4_blur_people-mini_yolo.py', 2e-4,
     'recanon-native-continued_blur_people-mini.pth', 0.0),
    ('configs/ablations/recanon-ours-template_blur_people-mini_yolo.py', 2e-4, 'recanon-native_blur_people-mini.pth', 0.0),
    ('configs/ablations/recanon-ours-band-feat_blur_people-mini_yolo.py', 2e-4, 'recanon-native_blur_people-mini.pth', 0.0)])
def test_every_band_config_builds_its_optimizers_at_the_rate_and_start_it_documents(config, lr, start, ssim):
    """The band's optimizer is a whole Adam wrapper in every config (a config that sets only its rate would
    replace the wrapper and fail at the Runner), at the rate, from the start and with the L_cons (its SSIM
    weight) its results were measured at."""
    from mmengine.optim import build_optim_wrapper

    from mmrecanon.runtime import load_config
    cfg = load_config(config)
    assert cfg.load_from.endswith(start)
    assert cfg.model.consistency_loss.get('ssim_weight', 0.0) == ssim
    model = MODELS.build(cfg.model)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    band = wrappers['pose_band'].optimizer
    assert isinstance(band, torch.optim.Adam) and band.defaults['lr'] == pytest.approx(lr)
    assert {id(p) for g in band.param_groups for p in g['params']} == {id(p) for p in model.pose_band.parameters()}


def test_shipped_band_asset_keeps_the_key_lock_guarantees(tiny_coco):
    """Issue #12 target 4 with the adopted model: the demo asset's G_X/G_Y/B under the keyed config (same weights,
    secret scramble; B is outside it). Loaded without P (recovery never runs P; with_pose=False), on a real
    photo: the right key gives what the unkeyed model gives, a wrong key and no key give x' no better than y'
    (+1 dB), and the pose band is the same with and without the key."""
    import cv2
    import numpy as np

    from mmrecanon.apis import anonymize_image, init_recanon, recover_image, recover_without_key
    from mmrecanon.models.utils.keylock import generate_key
    asset = 'mmrecanon/demo_assets/recanon-ours-band_blur_people-mini.pth'
    plain = init_recanon('configs/cpu/recanon-ours-band_blur_people-mini_yolo.py', asset, with_pose=False)
    keyed = init_recanon('configs/cpu/recanon-ours-band-keyed_blur_people-mini_yolo.py', asset, with_pose=False)
    assert plain.pose_loaded is False and keyed.key_lock is not None
    img = cv2.imread(str(tiny_coco / '000000000785.jpg'))
    box = np.array([[280, 40, 500, 420]], np.float32)  # the skier (COCO ground truth ≈ [280, 44, 498, 419])
    key, other = generate_key(), generate_key()
    a_plain = anonymize_image(plain, img, boxes=box, estimate=False)
    a_key = anonymize_image(keyed, img, boxes=box, key=key, estimate=False)
    x0, y0, x1, y1 = np.asarray(a_key['boxes'][0], int)

    def psnr(a):
        d = (a[y0:y1, x0:x1].astype(float) - img[y0:y1, x0:x1]) ** 2
        return 10 * np.log10(255 ** 2 / d.mean())
    # the low band (B and A(x)) is unkeyed: 2x2 block means of y' agree with and without the key
    low = [cv2.resize(a['enhanced'][y0:y1, x0:x1].astype(np.float32), None, fx=0.5, fy=0.5,
                      interpolation=cv2.INTER_AREA) for a in (a_plain, a_key)]
    assert np.abs(low[0] - low[1]).mean() < 0.5
    r_plain = psnr(recover_image(plain, a_plain['enhanced'], a_plain['boxes']))
    r_key = psnr(recover_image(keyed, a_key['enhanced'], a_key['boxes'], key=key, nonces=a_key['nonces']))
    r_nokey = psnr(recover_without_key(keyed, a_key['enhanced'], a_key['boxes']))
    y = psnr(a_key['enhanced'])
    r_wrong = psnr(recover_image(keyed, a_key['enhanced'], a_key['boxes'], key=other, nonces=a_key['nonces']))
    # measured 2026-12-04 on the asset of that day, in the portrait box: y' 13.6, x' 25.3 (right key 25.3, wrong key
    # 12.6, no key 12.6); the margins hold for the 2026-12-06 and 2026-12-07 assets (results/recovery.md, "Key lock ...")
    assert r_plain > y + 6
    assert abs(r_key - r_plain) < 1.0
    assert r_wrong < y + 1 and r_nokey < y + 1
    with pytest.raises(ValueError, match='recovery only'):  # P was not loaded: it must not find people
        anonymize_image(plain, img)
