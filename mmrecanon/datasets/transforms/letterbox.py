"""YOLOv8's letter-box for bottom-up P: resize, then whole-pixel grey padding (no sub-pixel resampling)."""
import cv2
import numpy as np
from mmpose.datasets.transforms import BottomupResize
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class YOLOLetterBox(BottomupResize):
    """Letter-box as Ultralytics does it, with the metadata MMPose's ``BottomupResize`` records.

    ``BottomupResize`` warps the image so that its centre lands on the input's centre; with an odd padding
    (a 640×427 image in 640×640) that is a half-pixel shift, which bilinear sampling turns into a blur.
    The COCO-pretrained YOLOv8 weights saw sharp letter-boxed images (``cv2.resize`` INTER_LINEAR when the
    size changes, then whole-pixel padding split as ``round(d - 0.1)`` / ``round(d + 0.1)``); with the blur
    their small-person scores drop by up to 0.2. This transform reproduces Ultralytics' input and records
    ``input_size``, ``input_center`` and ``input_scale`` such that ``BottomupPoseEstimator``'s mapping back
    (``p / input_size * input_scale + input_center - input_scale / 2``) is exact, so everything that reads
    that metadata (``PortraitBoxes``, ``PoseAdapter``, the visualiser) keeps working.

    Args:
        input_size (tuple[int, int]): (w, h) of the model input.
        pad_val (int | tuple): padding colour (YOLOv8: 114 grey).
    """

    def __init__(self, input_size, pad_val=(114, 114, 114)) -> None:
        super().__init__(input_size=input_size, pad_val=pad_val)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        in_w, in_h = (int(v) for v in self.input_size)
        r = min(in_w / w, in_h / h)
        new_w, new_h = int(round(w * r)), int(round(h * r))
        if (new_w, new_h) != (w, h):
            img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        dw, dh = (in_w - new_w) / 2, (in_h - new_h) / 2
        top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
        pad = self.pad_val if isinstance(self.pad_val, (int, float)) else tuple(self.pad_val)
        img = cv2.copyMakeBorder(img, top, in_h - new_h - top, left, in_w - new_w - left,
                                 cv2.BORDER_CONSTANT, value=pad)
        scale = np.array([new_w / w, new_h / h], dtype=np.float32)  # per axis, after rounding
        input_scale = np.array([in_w, in_h], dtype=np.float32) / scale
        results.update(img=img, img_shape=img.shape[:2], input_size=(in_w, in_h),
                       input_scale=input_scale,
                       input_center=input_scale / 2 - np.array([left, top], dtype=np.float32) / scale)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(input_size={self.input_size}, pad_val={self.pad_val})'
