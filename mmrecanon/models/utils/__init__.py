from .desensitize import (DESENSITIZER_KINDS, Desensitizer, gaussian_blur, gaussian_kernel1d,
                          gaussian_noise, pixelate)
from .carrier import HaarCarrier
from .keylock import KeyedCarrier, KeyLockError, check_value, haar2d, ihaar2d
from .portrait import (crop_portraits, keypoints_from_portrait, keypoints_to_portrait,
                       paste_portraits, portrait_mask, square_boxes)

__all__ = [
    'DESENSITIZER_KINDS', 'Desensitizer', 'gaussian_blur', 'gaussian_kernel1d', 'gaussian_noise',
    'pixelate', 'crop_portraits', 'keypoints_from_portrait', 'keypoints_to_portrait',
    'paste_portraits', 'portrait_mask', 'square_boxes', 'KeyedCarrier', 'KeyLockError', 'check_value',
    'haar2d', 'ihaar2d', 'HaarCarrier'
]
