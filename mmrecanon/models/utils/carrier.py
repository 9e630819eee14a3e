"""The recovery carrier: what G_X adds to A(x) so that G_Y can give x back (not in the paper).

``HaarCarrier`` (used by ``ReCanon(carrier=...)``)::

    y' = A(x) + H⁻¹(0, π(D(b · G_X(x))))            (lock)
    u  = H⁻¹(LL(y'), π⁻¹(D(y')))                    (unlock: G_Y's input; x' = u + G_Y(u) with a residual G_Y)

* H is one level of the orthonormal 2-D Haar transform (``keylock.haar2d``), D(·) its three detail
  bands, LL its low band. The carrier lives in the detail bands only, so LL(y') = LL(A(x)) exactly:
  every 2×2 block of y' has the mean of A(x). What the eye sees best (low frequencies) is A(x).
* b (``bound``) caps the carrier: G_X ends in tanh, so every carrier pixel is within ±b before the Haar
  split (b = 0.1 in [-1, 1] units ≈ 13 grey levels; the L1 term with its threshold T keeps the mean
  deviation near T).
* π is a permutation with sign flips over all detail coefficients of the portrait (bands and colours
  mixed), so the carrier is spread as white noise over the person: whatever structure G_X puts into it
  (clothing edges, say) is not where it came from. ``keyed=False``: one public permutation per portrait
  size (derived from a published constant; it hides the carrier from the eye and from PSNR/low-pass
  comparisons, not from someone who runs this code). ``keyed=True``: the permutation of the key lock
  (SHAKE-256 of a secret key and a per-portrait nonce, ``keylock.derive_scramble``): without the key the
  carrier cannot be put back.
"""
import hashlib
from functools import lru_cache
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmpose.registry import MODELS
from .keylock import NONCE_BYTES, KeyedCarrier, derive_scramble, haar2d, ihaar2d


def check_bound(bound) -> float:
    """b of a bounded addition to y' (the carrier, the pose band): a number in (0, 1] ([-1, 1] units)."""
    if not 0 < float(bound) <= 1:
        raise ValueError(f'bound must be in (0, 1], got {bound!r}')
    return float(bound)

# the public scramble's key and nonce: published constants, not secrets
PUBLIC_KEY = hashlib.sha256(b'mmrecanon public carrier scramble v1').digest()
PUBLIC_NONCE = bytes(NONCE_BYTES)


@lru_cache(maxsize=16)
def _public_scramble(size: int) -> Tuple[Tensor, Tensor]:
    perm, sign = derive_scramble(PUBLIC_KEY, PUBLIC_NONCE, size)
    return torch.from_numpy(perm), torch.from_numpy(sign)


@MODELS.register_module()
class HaarCarrier(KeyedCarrier):
    """Bounded carrier in the Haar detail bands, scrambled publicly or with a key (module docstring).

    ``lock``/``unlock`` (and their ``valid`` parts of padded tiles) are :class:`KeyedCarrier`'s (a keyed carrier
    without ``keys`` gives y' as it is); only the scramble and ``_lock`` (A(x) + carrier instead of A(x)'s low
    band + carrier) differ.

    Args:
        bound (float): b, the carrier's amplitude before the Haar split ([-1, 1] units).
        keyed (bool): secret per-portrait scramble (a key lock: keys and nonces needed) or the public one.
    """

    def __init__(self, bound: float = 0.1, keyed: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.bound = check_bound(bound)
        self.keyed = bool(keyed)

    def _scramble(self, n: int, size: int, keys: Optional[Sequence[bytes]], nonces, device):
        if self.keyed:
            return super()._scramble(n, size, keys, nonces, device)
        perm, sign = _public_scramble(size)
        return perm.to(device).expand(n, -1), sign.to(device).expand(n, -1)

    def _lock(self, y: Tensor, a: Tensor, keys=None, nonces=None) -> Tensor:
        """``y`` = G_X(x) (tanh output), ``a`` = A(x) → y' (before 8-bit rounding)."""
        if y.shape[0] == 0:
            return a
        _, details = haar2d(self.bound * y)
        flat = details.flatten(1)
        perm, sign = self._scramble(flat.shape[0], flat.shape[1], keys, nonces, y.device)
        scrambled = torch.gather(flat, 1, perm) * sign.to(flat)
        zero_low = torch.zeros_like(a[:, :, ::2, ::2])
        return a + ihaar2d(zero_low, scrambled.view_as(details))


__all__ = ['HaarCarrier', 'PUBLIC_KEY', 'PUBLIC_NONCE', 'check_bound']
