"""Tests of the conventional desensitizers A (torch functionals, Desensitizer, transforms)."""
import math

import cv2
import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from mmrecanon.datasets.transforms.desensitize import (PersonGaussianBlur, PersonGaussianNoise,
                                                       PersonPixelate, desensitize_image,
                                                       person_regions)
from mmrecanon.models.utils.desensitize import (Desensitizer, gaussian_blur, gaussian_kernel1d,
                                                gaussian_noise, pixelate)


def _nchw(a: np.ndarray) -> torch.Tensor:
    a = a[..., None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float()


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).numpy()


# ---------------------------------------------------------------- torch functionals
def test_kernel_size_and_taps_match_cv2():
    for sigma, ksize in [(0.5, 5), (1.3, 9), (3.0, 19), (8.0, 49)]:
        k = gaussian_kernel1d(sigma, dtype=torch.float64)
        assert k.numel() == ksize == 2 * math.ceil(3 * sigma) + 1
        ref = cv2.getGaussianKernel(ksize, sigma, ktype=cv2.CV_64F)[:, 0]
        np.testing.assert_allclose(k.numpy(), ref, atol=1e-12)


@pytest.mark.parametrize('sigma', [0.5, 1.3, 3.0, 8.0])
@pytest.mark.parametrize('shape', [(37, 53, 3), (5, 7, 2), (1, 9, 1)])
def test_blur_matches_cv2_reflect101(sigma, shape):
    # (5, 7) and (1, 9) are smaller than the 49-tap kernel: repeated reflection like cv2
    img = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    ksize = 2 * math.ceil(3 * sigma) + 1
    ref = cv2.GaussianBlur(img, (ksize, ksize), sigma, sigma,
                           borderType=cv2.BORDER_REFLECT_101).reshape(shape)
    out = _hwc(gaussian_blur(_nchw(img), sigma))
    np.testing.assert_allclose(out, ref, atol=2e-6)


def test_blur_matches_torchvision_where_it_applies():
    x = torch.rand(2, 3, 40, 33, generator=torch.Generator().manual_seed(1)) * 255
    for sigma in (1.0, 2.5, 5.0):
        k = 2 * math.ceil(3 * sigma) + 1
        ref = TF.gaussian_blur(x, [k, k], [sigma, sigma])
        torch.testing.assert_close(gaussian_blur(x, sigma), ref, atol=1e-4, rtol=1e-5)


def test_blur_pixelate_keep_constant_image_and_gradients_flow():
    x = torch.full((1, 3, 23, 17), 0.37, requires_grad=True)
    for y in (gaussian_blur(x, 8), pixelate(x, 5), pixelate(x, 30)):
        torch.testing.assert_close(y, torch.full_like(y, 0.37), atol=1e-6, rtol=0)
    pixelate(x, 4).sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))  # block means redistribute the gradient
    assert torch.equal(gaussian_blur(x, 0), x) and torch.equal(pixelate(x, 1), x)


def test_pixelate_block_means_by_hand():
    x = torch.arange(16.).view(1, 1, 4, 4)
    expect2 = torch.tensor([[2.5, 2.5, 4.5, 4.5], [2.5, 2.5, 4.5, 4.5],
                            [10.5, 10.5, 12.5, 12.5], [10.5, 10.5, 12.5, 12.5]])
    assert torch.equal(pixelate(x, 2)[0, 0], expect2)
    # block 3: partial blocks average only their own pixels
    # top-left mean(0,1,2,4,5,6,8,9,10)=5, right column mean(3,7,11)=7,
    # bottom row mean(12,13,14)=13, bottom-right corner 15
    expect3 = torch.tensor([[5., 5., 5., 7.], [5., 5., 5., 7.], [5., 5., 5., 7.],
                            [13., 13., 13., 15.]])
    assert torch.equal(pixelate(x, 3)[0, 0], expect3)
    assert torch.equal(pixelate(x, 9)[0, 0], torch.full((4, 4), 7.5))


@pytest.mark.parametrize('shape,block', [((24, 36, 3), 6), ((24, 36, 3), 4), ((30, 20, 1), 10)])
def test_pixelate_matches_cv2_on_divisible_sizes(shape, block):
    img = np.random.default_rng(2).uniform(0, 255, shape).astype(np.float32)
    h, w = shape[:2]
    small = cv2.resize(img, (w // block, h // block), interpolation=cv2.INTER_AREA)
    ref = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).reshape(shape)
    np.testing.assert_allclose(_hwc(pixelate(_nchw(img), block)), ref, atol=1e-3)


def test_noise_std_and_reproducibility():
    x = torch.zeros(1, 3, 256, 256)
    n = gaussian_noise(x, 25.0, generator=torch.Generator().manual_seed(0))
    assert abs(n.std().item() - 25.0) < 0.05 * 25.0 and abs(n.mean().item()) < 0.5
    n2 = gaussian_noise(x, 25.0, value_range=2.0, generator=torch.Generator().manual_seed(0))
    assert abs(n2.std().item() - 25.0 * 2 / 255) < 0.05 * 25.0 * 2 / 255
    torch.testing.assert_close(n2, n * (2 / 255))  # same draw, scaled to the value range
    again = gaussian_noise(x, 25.0, generator=torch.Generator().manual_seed(0))
    other = gaussian_noise(x, 25.0, generator=torch.Generator().manual_seed(1))
    assert torch.equal(n, again) and not torch.equal(n, other)


def test_functional_input_errors():
    with pytest.raises(ValueError, match='NCHW'):
        gaussian_blur(torch.zeros(3, 8, 8), 2)
    with pytest.raises(TypeError, match='floating'):
        pixelate(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 2)
    with pytest.raises(ValueError, match='block'):
        pixelate(torch.zeros(1, 3, 8, 8), 0)
    with pytest.raises(ValueError, match='radius'):
        gaussian_blur(torch.zeros(1, 3, 8, 8), -1)


# ---------------------------------------------------------------- Desensitizer module
def test_desensitizer_module_kinds_param_and_registry():
    from mmpose.registry import MODELS
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    blur = MODELS.build(dict(type='Desensitizer', kind='blur', radius=2))
    assert isinstance(blur, Desensitizer) and blur.param == 2.0
    assert "kind='blur', radius=2.0" in repr(blur)
    torch.testing.assert_close(blur(x), gaussian_blur(x, 2.0))
    pix = Desensitizer('pixelate', block=4)
    assert pix.param == 4 and 'block=4' in repr(pix)
    torch.testing.assert_close(pix(x), pixelate(x, 4))
    assert Desensitizer('noise', sigma=10).param == 10.0
    assert list(blur.parameters()) == []
    with pytest.raises(ValueError, match='blur, pixelate, noise'):
        Desensitizer('jpeg')
    with pytest.raises(ValueError, match='block'):
        Desensitizer('pixelate', block=0)


def test_desensitizer_detached_clamped_and_seeded():
    x = (torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(4)) * 2 - 1)
    x.requires_grad_(True)
    state = torch.get_rng_state()
    noise = Desensitizer('noise', sigma=50, seed=7)
    assert torch.equal(torch.get_rng_state(), state)  # building A makes no global RNG draw
    y1, y2 = noise(x), noise(x)
    assert not y1.requires_grad and y1.grad_fn is None
    assert y1.min() >= -1 and y1.max() <= 1 and (y1.abs() == 1).any()  # clamped to [-1, 1]
    assert not torch.equal(y1, y2)  # the generator advances between calls
    fresh = Desensitizer('noise', sigma=50, seed=7)
    assert torch.equal(fresh(x), y1) and torch.equal(fresh(x), y2)
    free = Desensitizer('noise', sigma=50, seed=7, clamp=None)(x)
    assert free.abs().max() > 1
    # unclamped noise std in [-1, 1] units: 50 * 2 / 255
    assert abs((free - x).std().item() - 100 / 255) < 0.05 * 100 / 255


# ---------------------------------------------------------------- person-region transforms
def _image(h=60, w=80, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c) if c else (h, w), dtype=np.uint8)


def test_person_regions_clip_margin_order():
    boxes = np.array([[10, 10, 20, 20], [-5.5, 50, 30.2, 70], [5, 5, 5, 30], [100, 0, 120, 9],
                      [0, 0, np.nan, 4], [30, 2, 70, 40]], dtype=np.float32)
    regions = person_regions(boxes, (60, 80), margin=1.0)
    # ascending area; zero-width, outside and NaN boxes are dropped; floor/ceil then clip
    assert regions.tolist() == [[10, 10, 20, 20], [0, 50, 31, 60], [30, 2, 70, 40]]
    assert person_regions(boxes[:1], (60, 80), margin=2.0).tolist() == [[5, 5, 25, 25]]
    assert person_regions(np.zeros((0, 4)), (60, 80)).shape == (0, 4)
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        person_regions(np.zeros((2, 3)), (60, 80))


@pytest.mark.parametrize('kind,params', [('blur', dict(radius=3)), ('pixelate', dict(block=5)),
                                         ('noise', dict(sigma=20, seed=1))])
@pytest.mark.parametrize('channels', [3, 0])
def test_outside_boxes_bit_identical(kind, params, channels):
    img = _image(c=channels)
    boxes = np.array([[-10.3, 5.2, 25.7, 40.1], [50, 30, 95, 75]], dtype=np.float32)
    out = desensitize_image(img, boxes, kind, **params)
    assert out.dtype == np.uint8 and out.shape == img.shape
    mask = np.zeros(img.shape[:2], bool)
    for x0, y0, x1, y1 in person_regions(boxes, img.shape):
        mask[y0:y1, x0:x1] = True
    assert mask.sum() == 26 * 36 + 30 * 30
    assert np.array_equal(out[~mask], img[~mask])
    assert not np.array_equal(out[mask], img[mask])
    assert np.array_equal(desensitize_image(img, np.zeros((0, 4)), kind, **params), img)
    assert np.array_equal(desensitize_image(img, [[100, 100, 120, 130]], kind, **params), img)


@pytest.mark.parametrize('kind,params,fn', [
    ('blur', dict(radius=2.5), lambda t: gaussian_blur(t, 2.5)),
    ('blur', dict(radius=8), lambda t: gaussian_blur(t, 8)),
    ('pixelate', dict(block=6), lambda t: pixelate(t, 6)),
])
def test_region_equals_torch_functional(kind, params, fn):
    img = _image(seed=3)
    box = np.array([[7.6, 3.1, 48.2, 51.9]])
    out = desensitize_image(img, box, kind, **params)
    x0, y0, x1, y1 = person_regions(box, img.shape)[0]
    assert (x0, y0, x1, y1) == (7, 3, 49, 52)
    ref = _hwc(fn(_nchw(img[y0:y1, x0:x1]))).clip(0, 255)
    diff = np.abs(out[y0:y1, x0:x1].astype(np.float32) - ref)
    assert diff.max() <= 1.0


def test_transforms_registry_seed_and_grey():
    from mmpose.registry import TRANSFORMS
    img = np.full((50, 40, 3), 128, np.uint8)
    results = dict(img=img.copy(), bbox=np.array([[5., 5., 35., 45.]]), img_path='a/0001.jpg')
    t = TRANSFORMS.build(dict(type='PersonGaussianNoise', sigma=10, seed=3))
    assert isinstance(t, PersonGaussianNoise) and 'sigma=10.0' in repr(t)
    out1 = t(dict(results, img=img.copy()))['img']
    out2 = t(dict(results, img=img.copy()))['img']
    assert np.array_equal(out1, out2)  # same seed + same image -> same noise
    other_img = t(dict(results, img=img.copy(), img_path='b/0002.jpg'))['img']
    assert not np.array_equal(out1, other_img)  # per-image seeding
    region = out1[5:45, 5:35].astype(np.float64) - 128
    assert abs(region.std() - 10) < 0.5 and abs(region.mean()) < 0.5
    assert not np.array_equal(PersonGaussianNoise(sigma=10)(dict(results))['img'],
                              PersonGaussianNoise(sigma=10)(dict(results))['img'])

    grey = _image(c=0, seed=5)
    pix = TRANSFORMS.build(dict(type='PersonPixelate', block=4))
    res = pix(dict(img=grey.copy(), bbox=np.array([[0, 0, 8, 4]])))
    expect = grey.copy()
    for bx in (0, 4):
        expect[0:4, bx:bx + 4] = np.rint(grey[0:4, bx:bx + 4].astype(np.float64).mean())
    assert np.array_equal(res['img'], expect)
    blur = PersonGaussianBlur(radius=1, margin=1.5)
    assert repr(blur) == 'PersonGaussianBlur(radius=1.0, margin=1.5)'
    out = blur(dict(img=img.copy(), bbox=np.zeros((0, 4), np.float32)))['img']
    assert np.array_equal(out, img)
    assert isinstance(TRANSFORMS.build(dict(type='PersonPixelate')), PersonPixelate)
    with pytest.raises(KeyError, match='bbox'):
        blur(dict(img=img))
    with pytest.raises(ValueError, match='valid kinds'):
        desensitize_image(img, [[0, 0, 4, 4]], 'mosaic')


def test_desensitizer_moves_with_its_model():
    """nn.Module.to()/_apply must still work on a model that holds a Desensitizer."""
    from mmrecanon.models.utils.desensitize import Desensitizer
    net = torch.nn.Sequential(Desensitizer(kind='pixelate', block=2)).to(torch.float64)
    x = torch.arange(16, dtype=torch.float64).reshape(1, 1, 4, 4) / 16
    assert torch.allclose(net(x)[0, 0, 0, :2], torch.full((2, ), (0 + 1 + 4 + 5) / 64, dtype=torch.float64))


@pytest.mark.parametrize('kind,strength', [('blur', 8), ('pixelate', 12)])
def test_pipeline_A_at_the_persons_scale_is_the_native_models_A(kind, strength):
    """``portrait_size`` makes the data-pipeline A the native-resolution model's A: strength × k per person."""
    import torch

    from mmrecanon.models.utils.desensitize import Desensitizer
    from mmrecanon.models.utils.tiles import person_regions
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[20., 30., 120., 230.], [200., 100., 240., 160.]])  # two sizes: two k's
    t = (PersonGaussianBlur(radius=strength, margin=1.25, portrait_size=128) if kind == 'blur' else
         PersonPixelate(block=strength, margin=1.25, portrait_size=128))
    out = t.transform(dict(img=img.copy(), bbox=boxes))['img']
    model_a = Desensitizer(kind, radius=strength, block=strength)
    regions, index = person_regions(boxes, img.shape, 1.25, with_index=True)
    assert sorted(index.tolist()) == [0, 1]
    for (x0, y0, x1, y1), i in zip(regions, index):
        k = 1.25 * max(boxes[i, 2] - boxes[i, 0], boxes[i, 3] - boxes[i, 1]) / 128
        part = torch.from_numpy(img[y0:y1, x0:x1].astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
        ref = ((model_a(part, scale=k)[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255)
        assert np.abs(out[y0:y1, x0:x1].astype(int) - ref.astype(int)).max() <= 1
    assert 'portrait_size=128' in repr(t)
    plain = type(t)(strength, margin=1.25).transform(dict(img=img.copy(), bbox=boxes))['img']
    assert not np.array_equal(plain, out)  # the strengths in image pixels: another A (k ≠ 1 here)


def test_conventional_pipeline_config_blurs_the_people_only():
    """The plain-MMPose "Conventional" config: A in the data pipeline, at each person's scale."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    from mmrecanon.runtime import load_config
    init_default_scope('mmpose')
    conv = load_config('configs/yolov8pose/yolov8pose-n_people-mini_conventional-blur.py')
    pre = load_config('configs/yolov8pose/yolov8pose-n_people-mini_pre.py')
    a = conv.test_dataloader.dataset.pipeline[1]
    assert a == dict(type='PersonGaussianBlur', radius=8, margin=1.25, portrait_size=128)
    x_conv = DATASETS.build(conv.test_dataloader.dataset)[0]['inputs']
    x_pre = DATASETS.build(pre.test_dataloader.dataset)[0]['inputs']
    same = (x_conv == x_pre).all(0).float().mean().item()
    assert 0.2 < same < 0.995  # the people are blurred, the background is not
