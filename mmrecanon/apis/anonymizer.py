"""``Anonymizer``: one object that owns the model, its person detector, the key and the settings.

After DeepPrivacy2's ``dp2/anonymizer``: build it once (from files, or around a loaded model), and every
check -- does the model need a key, is this key for it, can it recover at all -- runs there, once; its
methods then do the work::

    anon = Anonymizer.from_files('configs/cpu/recanon-native_blur_people-mini_tiles.py', 'model.pth')
    out = anon.anonymize(cv2.imread('street.jpg'))                  # y' pasted back, boxes, poses
    back = anon.recover(out['enhanced'], out['boxes'])              # x' = G_Y(y') pasted back

The free functions of :mod:`mmrecanon.apis.inference` stay for one-off use; they check on every call.
"""
from typing import Dict, Optional

import numpy as np

from .inference import (anonymize_checked, check_can_recover, check_key_use, desensitize_frame, estimate_poses, init_recanon,
                        is_key_locked, recover_checked)
from ..models.utils.keylock import verify_key

PURPOSES = ('anonymizing', 'recovery')


class Anonymizer:
    """The model, its detector, the key and the settings, checked once.

    Args:
        model: a ReCanon from :func:`init_recanon` (its ``detector``, if any, finds the people).
        key: the 32-byte key of a key-locked model (required there, refused elsewhere).
        score_thr: person detection / bottom-up pose score threshold.
        purpose: 'anonymizing' (a camera) or 'recovery' (an authorised party: needs G_Y's weights).
    """

    def __init__(self, model, key: Optional[bytes] = None, score_thr: float = 0.3, purpose: str = 'anonymizing'):
        if purpose not in PURPOSES:
            raise ValueError(f'purpose must be one of {PURPOSES}, got {purpose!r}')
        if purpose == 'recovery':
            check_can_recover(model)
        check_key_use(model, key, purpose)
        self.model, self.key, self.score_thr, self.purpose = model, key, float(score_thr), purpose

    @classmethod
    def from_files(cls, config: str, checkpoint: str, *, device: str = 'cpu', cfg_options: Optional[dict] = None,
                   det_config: Optional[str] = None, det_checkpoint: Optional[str] = None,
                   pose_checkpoint: Optional[str] = None, **kwargs) -> 'Anonymizer':
        """Load the model (:func:`init_recanon`; one-line errors) and build the anonymizer around it. For
        ``purpose='recovery'`` P's weights are not needed (recovery never runs P) and P is loaded only when
        ``pose_checkpoint`` names them (an authorised party that also anonymizes and finds people, e.g.
        ``tools/analysis/video_stability.py``)."""
        with_pose = kwargs.get('purpose') != 'recovery' or pose_checkpoint is not None
        model = init_recanon(config, checkpoint, device=device, cfg_options=cfg_options, det_config=det_config,
                             det_checkpoint=det_checkpoint, pose_checkpoint=pose_checkpoint,
                             with_pose=with_pose)
        return cls(model, **kwargs)

    @property
    def key_locked(self) -> bool:
        return is_key_locked(self.model)

    @property
    def detector(self):
        return getattr(self.model, 'detector', None)

    def anonymize(self, img: np.ndarray, boxes=None, estimate: bool = True) -> Dict:
        """y' of every person (``boxes``, or the detector's / a bottom-up P's); see ``anonymize_image``."""
        return anonymize_checked(self.model, img, boxes, self.score_thr, self.key, estimate=estimate)

    def desensitize(self, img: np.ndarray) -> np.ndarray:
        """A(x) of the whole frame: what fails closed when nobody was found (``desensitize_frame``)."""
        return desensitize_frame(self.model, img)

    def verify(self, key_check: str) -> None:
        """Refuse (KeyLockError) portraits whose recorded key check value is not this anonymizer's key's."""
        verify_key(self.key, key_check)

    def recover(self, img: np.ndarray, boxes, nonces=None) -> np.ndarray:
        """x' of the portraits at ``boxes`` (with their ``nonces`` when key-locked); see ``recover_image``."""
        if self.purpose != 'recovery':
            raise ValueError("this Anonymizer was built for anonymizing; build one with purpose='recovery'")
        return recover_checked(self.model, img, boxes, self.key, nonces)

    def estimate_poses(self, img: np.ndarray, person_boxes=None):
        return estimate_poses(self.model, img, person_boxes, self.score_thr)


__all__ = ['Anonymizer']
