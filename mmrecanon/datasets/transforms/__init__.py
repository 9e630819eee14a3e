from .desensitize import (PersonDesensitizeBase, PersonGaussianBlur, PersonGaussianNoise,
                          PersonPixelate, desensitize_image, person_regions)
from .letterbox import YOLOLetterBox
from .portrait import PortraitBoxes

__all__ = [
    'PortraitBoxes', 'YOLOLetterBox',
    'PersonDesensitizeBase', 'PersonGaussianBlur', 'PersonGaussianNoise', 'PersonPixelate',
    'desensitize_image', 'person_regions'
]
