"""YOLOLetterBox: Ultralytics' letter-box (whole-pixel padding) with BottomupResize's metadata."""
import numpy as np
import pytest

import mmrecanon  # noqa: F401
from mmrecanon.datasets.transforms import PortraitBoxes, YOLOLetterBox


def _run(h, w, size=(640, 640)):
    img = (np.arange(h * w * 3) % 251).astype(np.uint8).reshape(h, w, 3)
    out = YOLOLetterBox(input_size=size)(dict(img=img, img_shape=(h, w), ori_shape=(h, w)))
    return img, out


def test_no_resampling_when_the_size_fits():
    img, out = _run(427, 640)
    # (640 - 427) / 2 = 106.5 -> 106 rows on top, 107 below (Ultralytics' round(d -/+ 0.1))
    assert out['img'].shape == (640, 640, 3)
    assert np.array_equal(out['img'][106:533], img)  # bit-exact: no half-pixel blur
    assert (out['img'][:106] == 114).all() and (out['img'][533:] == 114).all()


@pytest.mark.parametrize('h, w', [(427, 640), (480, 300), (100, 160)])
def test_metadata_maps_input_pixels_back_exactly(h, w):
    _, out = _run(h, w)
    size = np.array(out['input_size'], np.float64)
    scale, center = np.asarray(out['input_scale']), np.asarray(out['input_center'])

    def to_image(p):  # BottomupPoseEstimator.add_pred_to_datasample
        return np.asarray(p) / size * scale + center - 0.5 * scale

    r = min(640 / h, 640 / w)
    new_w, new_h = round(w * r), round(h * r)
    left, top = round((640 - new_w) / 2 - 0.1), round((640 - new_h) / 2 - 0.1)
    np.testing.assert_allclose(to_image([left, top]), [0, 0], atol=1e-4)
    np.testing.assert_allclose(to_image([left + new_w, top + new_h]), [w, h], atol=1e-3)
    # PortraitBoxes(from_space='image') is the inverse mapping
    res = PortraitBoxes(from_space='image')(dict(out, bbox=np.array([[0, 0, w, h]], np.float32)))
    np.testing.assert_allclose(res['portrait_bboxes'][0], [left, top, left + new_w, top + new_h], atol=1e-3)
