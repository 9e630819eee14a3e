"""Tests of the person-portrait crop / paste geometry."""
import pytest
import torch

from mmrecanon.models.utils.portrait import (crop_portraits, keypoints_from_portrait,
                                             keypoints_to_portrait, paste_portraits,
                                             portrait_mask, square_boxes)


def _gradient_image(h=16, w=16):
    """Channel 0 holds the column index, channel 1 the row index (value = pixel index)."""
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing='ij')
    return torch.stack([xs, ys])[None]


def _smooth_image(h=96, w=96):
    ys, xs = torch.meshgrid(torch.arange(h).double(), torch.arange(w).double(), indexing='ij')
    return torch.stack([100 + 0.6 * xs + 0.3 * ys,
                        80 + 20 * torch.sin(xs / 25) * torch.cos(ys / 30),
                        200 - 0.5 * ys])[None].float()


def test_square_boxes():
    b = torch.tensor([[10., 20., 30., 60.], [5., 5., 6., 6.], [0., 0., 0., 0.]])
    out = square_boxes(b, margin=1.25, min_size=16.)
    expect = torch.tensor([[-5., 15., 45., 65.], [-2.5, -2.5, 13.5, 13.5], [-8., -8., 8., 8.]])
    assert torch.equal(out, expect)
    assert square_boxes(torch.zeros(0, 4)).shape == (0, 4)


def test_crop_gradient_values_by_hand():
    img = _gradient_image()
    # downscale x2: bin j covers columns 2+2j, 3+2j -> mean 2.5 + 2j (antialiased average)
    c = crop_portraits(img, [torch.tensor([[2., 0., 10., 8.]])], 4)
    assert c.shape == (1, 2, 4, 4)
    assert torch.equal(c[0, 0], torch.tensor([2.5, 4.5, 6.5, 8.5]).expand(4, 4))
    assert torch.equal(c[0, 1], torch.tensor([0.5, 2.5, 4.5, 6.5])[:, None].expand(4, 4))
    # upscale x2: crop pixel centres at x = 2.25, 2.75, ... -> value (centre - 0.5), bilinear
    c = crop_portraits(img, [torch.tensor([[2., 3., 4., 5.]])], 4)
    assert torch.allclose(c[0, 0], torch.tensor([1.75, 2.25, 2.75, 3.25]).expand(4, 4))
    assert torch.allclose(c[0, 1], torch.tensor([2.75, 3.25, 3.75, 4.25])[:, None].expand(4, 4))
    # outside the image (more than half a pixel beyond the border) -> pad_value
    c = crop_portraits(img + 1, [torch.tensor([[-20., -20., -12., -12.], [-4., 0., 4., 8.]])], 8,
                       pad_value=-5.)
    assert torch.equal(c[0], torch.full((2, 8, 8), -5.))
    assert torch.equal(c[1, 0, 0], torch.tensor([-5., -5., -5., 1., 1., 2., 3., 4.]))


def test_crop_paste_round_trip_and_outside_bit_identical():
    img = _smooth_image()
    for box, size in [([10., 12., 74., 76.], 64), ([10.3, 12.6, 70., 72.2], 48),
                      ([-10., 40., 50., 100.], 48), ([60., -7.3, 101.5, 30.], 32)]:
        boxes = [torch.tensor([box])]
        crops = crop_portraits(img, boxes, size, pad_value=-50.)
        out = paste_portraits(img, crops, boxes)
        mask = portrait_mask((96, 96), boxes[0])
        assert mask.any()
        assert (out - img)[0][:, mask].abs().max() <= 1.0, box
        assert torch.equal(out[0][:, ~mask], img[0][:, ~mask])
    # a box on the pixel grid with one crop pixel per image pixel is copied exactly
    boxes = [torch.tensor([[2., 2., 10., 10.]])]
    assert torch.allclose(paste_portraits(img, crop_portraits(img, boxes, 8), boxes), img,
                          atol=1e-4, rtol=0)


def test_portrait_mask_pixel_centre_rule():
    boxes = torch.tensor([[2.3, 1.0, 5.7, 3.6], [0., 0., 0., 0.], [7.1, 7.1, 7.4, 7.4],
                          [-9., -9., -1., -1.]])
    mask = portrait_mask((9, 10), boxes)
    expect = torch.zeros(9, 10, dtype=torch.bool)
    expect[1:4, 2:6] = True  # centres 2.5..5.5 in [2.3, 5.7), 1.5..3.5 in [1.0, 3.6)
    assert torch.equal(mask, expect)


def test_overlap_larger_box_wins_and_order_independent():
    img = torch.zeros(1, 1, 80, 80)
    small, large = [10., 10., 40., 40.], [25., 25., 70., 70.]
    for boxes, values in [([large, small], [2., 1.]), ([small, large], [1., 2.])]:
        crops = torch.tensor(values).view(2, 1, 1, 1).expand(2, 1, 16, 16).contiguous()
        out = paste_portraits(img, crops, [torch.tensor(boxes)])[0, 0]
        assert out[30, 30] == 2.0 and out[39, 39] == 2.0  # overlap: the larger person on top
        assert out[12, 12] == 1.0 and out[24, 39] == 1.0 and out[60, 60] == 2.0
        assert out[5, 5] == 0.0 and out[75, 75] == 0.0
        assert out.sum() == 45 * 45 * 2 + (30 * 30 - 15 * 15) * 1


def test_outside_zero_tiny_boxes_and_batches():
    img = _smooth_image(40, 50)
    imgs = torch.cat([img, img + 1])
    boxes = [torch.tensor([[-50., -50., -10., -10.], [60., 0., 90., 30.], [0., 0., 0., 0.],
                           [5.1, 5.1, 5.4, 5.4]]),
             torch.zeros(0, 4)]
    crops = crop_portraits(imgs, boxes, 8)
    assert crops.shape == (4, 3, 8, 8)
    assert torch.equal(paste_portraits(imgs, crops + 30, boxes), imgs)
    # a tiny box holding one pixel centre pastes exactly that pixel
    boxes = [torch.zeros(0, 4), torch.tensor([[5.2, 6.2, 5.8, 6.8]])]
    out = paste_portraits(imgs, torch.full((1, 3, 4, 4), 7.), boxes)
    assert torch.equal(out[0], imgs[0])
    changed = (out != imgs).any(dim=1)[1]
    assert changed.sum() == 1 and changed[6, 5]
    assert torch.equal(out[1, :, 6, 5], torch.full((3, ), 7.))
    assert crop_portraits(imgs, [torch.zeros(0, 4)] * 2, 8).shape == (0, 3, 8, 8)


def test_gradients_reach_crops_not_pasted_image_pixels():
    img = _smooth_image(48, 48).requires_grad_(True)
    boxes = [torch.tensor([[8., 6., 40., 44.]])]
    crops = crop_portraits(img.detach(), boxes, 16).requires_grad_(True)
    out = paste_portraits(img, crops, boxes)
    weight = torch.rand(out.shape, generator=torch.Generator().manual_seed(0)) + 0.5
    (out * weight).sum().backward()
    mask = portrait_mask((48, 48), boxes[0])
    assert (crops.grad.abs() > 0).all()
    assert torch.equal(img.grad[0][:, mask], torch.zeros_like(img.grad[0][:, mask]))
    assert torch.equal(img.grad[0][:, ~mask], weight[0][:, ~mask])
    # total gradient mass reaching the crop equals the weights of the pasted pixels
    torch.testing.assert_close(crops.grad.sum(), weight[0][:, mask].sum())


def test_keypoint_mapping_round_trip_and_crop_consistency():
    g = torch.Generator().manual_seed(0)
    boxes = torch.rand(5, 2, generator=g) * 100
    boxes = torch.cat([boxes, boxes + 10 + torch.rand(5, 2, generator=g) * 200], dim=1)
    kpts = torch.rand(5, 17, 2, generator=g) * 300 - 20
    back = keypoints_from_portrait(keypoints_to_portrait(kpts, boxes, 256), boxes, 256)
    torch.testing.assert_close(back, kpts, atol=1e-4, rtol=0)
    # crop pixel (u, v) of the gradient image shows the frame point whose centre is
    # keypoints_from_portrait((u + 0.5, v + 0.5)); the image value there is centre - 0.5
    img = _gradient_image(64, 64)
    box = torch.tensor([[10.5, 7.25, 40.5, 52.25]])
    crop = crop_portraits(img, [box], 24)[0]
    uv = torch.stack(torch.meshgrid(torch.arange(24.), torch.arange(24.), indexing='xy'), -1)
    frame = keypoints_from_portrait(uv.view(1, -1, 2) + 0.5, box, 24).view(24, 24, 2)
    torch.testing.assert_close(crop.permute(1, 2, 0), frame - 0.5, atol=1e-4, rtol=0)
    assert torch.allclose(keypoints_to_portrait(torch.tensor([[[25.5, 29.75]]]), box, 24),
                          torch.tensor([[[12., 12.]]]))


def test_input_validation():
    img = torch.zeros(2, 3, 16, 16)
    with pytest.raises(ValueError, match='2 images'):
        crop_portraits(img, [torch.zeros(1, 4)], 8)
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        crop_portraits(img, [torch.zeros(1, 5), torch.zeros(0, 4)], 8)
    with pytest.raises(TypeError, match='floating'):
        crop_portraits(img.byte(), [torch.zeros(1, 4), torch.zeros(0, 4)], 8)
    with pytest.raises(ValueError, match='1 boxes'):
        paste_portraits(img, torch.zeros(2, 3, 8, 8), [torch.zeros(1, 4), torch.zeros(0, 4)])
    with pytest.raises(ValueError, match='channels'):
        paste_portraits(img, torch.zeros(1, 1, 8, 8), [torch.zeros(1, 4), torch.zeros(0, 4)])
    with pytest.raises(ValueError, match='size'):
        crop_portraits(img, [torch.zeros(1, 4), torch.zeros(0, 4)], 0)
    with pytest.raises(ValueError, match='keypoint sets'):
        keypoints_to_portrait(torch.zeros(2, 17, 2), torch.zeros(3, 4), 64)
