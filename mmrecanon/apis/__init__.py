"""Inference API: load a trained ReCanon, anonymize (G_X) and recover (G_Y) whole images."""
from .anonymizer import Anonymizer
from .inference import (MAX_SIDE, InputError, KeyLockError, anonymize_image, as_bgr_uint8, clip_boxes,
                        detect_people, estimate_poses, init_person_detector, init_recanon, is_key_locked,
                        read_image, recover_image, recover_without_key)

__all__ = [
    'Anonymizer', 'MAX_SIDE', 'InputError', 'as_bgr_uint8', 'read_image', 'init_recanon', 'init_person_detector',
    'detect_people', 'estimate_poses', 'anonymize_image', 'recover_image', 'clip_boxes',
    'is_key_locked', 'KeyLockError', 'recover_without_key'
]
