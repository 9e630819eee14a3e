from .desensitize import (PersonDesensitizeBase, PersonGaussianBlur, PersonGaussianNoise,
                          PersonPixelate, desensitize_image, person_regions)
from .portrait import PortraitBoxes

__all__ = [
    'PortraitBoxes',
    'PersonDesensitizeBase', 'PersonGaussianBlur', 'PersonGaussianNoise', 'PersonPixelate',
    'desensitize_image', 'person_regions'
]
