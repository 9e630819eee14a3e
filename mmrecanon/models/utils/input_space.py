"""The one mapping between a frame's image pixels and P's letter-boxed model input.

``BottomupResize`` (and ``YOLOLetterBox``) record ``input_size`` (w, h of the model input), ``input_center``
and ``input_scale`` (the image region, in image pixels, that fills the input); MMPose's
``BottomupPoseEstimator`` maps its predictions back with the same formula. Coordinates are (..., 2) arrays.
"""
import numpy as np


def _params(metainfo: dict):
    return (np.asarray(metainfo['input_size'], np.float32), np.asarray(metainfo['input_center'], np.float32),
            np.asarray(metainfo['input_scale'], np.float32))


def image_to_input_space(coords: np.ndarray, metainfo: dict) -> np.ndarray:
    """Image pixels → model-input pixels (unchanged when the metainfo records no letter-box)."""
    if 'input_center' not in metainfo:
        return coords
    size, center, scale = _params(metainfo)
    return (coords - center + 0.5 * scale) / scale * size


def input_to_image_space(coords: np.ndarray, metainfo: dict) -> np.ndarray:
    """Model-input pixels → image pixels (the inverse of :func:`image_to_input_space`)."""
    size, center, scale = _params(metainfo)
    return coords / size * scale + center - 0.5 * scale


__all__ = ['image_to_input_space', 'input_to_image_space']
