from .desensitize import (PersonDesensitizeBase, PersonGaussianBlur, PersonGaussianNoise,
                          PersonPixelate, desensitize_image, person_regions)
from .letterbox import YOLOLetterBox
from .portrait import PortraitBoxes
from .tiles import NativePersonTile

__all__ = [
    'NativePersonTile', 'PortraitBoxes', 'YOLOLetterBox',
    'PersonDesensitizeBase', 'PersonGaussianBlur', 'PersonGaussianNoise', 'PersonPixelate',
    'desensitize_image', 'person_regions'
]
