"""Key-locked recovery: a keyed scramble of the carrier that G_X hides in y'.

Design (``KeyedCarrier``; documented for users in README "Key-locked recovery"):

* One level of the orthonormal 2-D Haar transform splits a portrait into its low band LL (half size)
  and three detail bands. The sent portrait is ``y' = H⁻¹(LL(A(x)), π_k,n(D(G_X(x))))``: its low band
  is exactly that of the conventional A(x) (so the low band carries nothing beyond A(x)), and every
  detail coefficient G_X produced (the recovery carrier) is moved by a secret permutation with secret
  sign flips π_k,n. G_Y sees ``H⁻¹(LL(y'), π⁻¹_k,n(D(y')))`` — G_X's carrier back in place — only with
  the right key. Haar is orthonormal, so the scramble changes no energy and is exactly invertible
  (up to the 8-bit rounding of y').
* π_k,n is derived from the 256-bit key k and a per-portrait public nonce n (16 random bytes, stored
  in the sidecar beside the portrait box) with SHAKE-256 (an extendable-output function): 64 bits per
  coefficient, argsort → a uniform permutation over all 3·C·(S/2)² coefficients of the portrait (bands
  and colours mixed), one more stream of bits → signs. A fresh nonce per portrait means no two
  portraits share a permutation, which defeats statistics pooled over many portraits.
* The key is never written into images or sidecars. The sidecar holds a check value (``io/keyfile.py``,
  with the key-file format), which only tells whether a given key is the one used; recovery with a key
  whose check value differs is refused.
"""
import hashlib
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmpose.registry import MODELS

# keys, nonces, check values and key files: torch-free, in mmrecanon/io/keyfile.py (re-exported here)
from ...io.keyfile import (KEY_BYTES, NONCE_BYTES, KeyLockError, check_value, generate_key,  # noqa: F401
                           generate_nonce, parse_key, read_key_file, verify_key, write_key_file)

_STREAM_DOMAIN = b'mmrecanon keylock v1'
# 2×2 orthonormal Haar on each block [a b; c d] (pixel_unshuffle order a, b, c, d): LL, H, V, D.
_HAAR = torch.tensor([[1., 1., 1., 1.], [1., -1., 1., -1.], [1., 1., -1., -1.], [1., -1., -1., 1.]]) / 2


# ---------------------------------------------------------------------------------------------- Haar
def haar2d(x: Tensor) -> Tuple[Tensor, Tensor]:
    """(N, C, H, W) with even H, W → LL (N, C, H/2, W/2) and details (N, 3C, H/2, W/2), orthonormal."""
    n, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f'Haar transform needs an even size, got {h}×{w}')
    blocks = F.pixel_unshuffle(x, 2).reshape(n, c, 4, h // 2, w // 2)
    coef = torch.einsum('ij,ncjhw->ncihw', _HAAR.to(x), blocks)
    return coef[:, :, 0], coef[:, :, 1:].reshape(n, 3 * c, h // 2, w // 2)


def ihaar2d(ll: Tensor, details: Tensor) -> Tensor:
    n, c, h2, w2 = ll.shape
    coef = torch.cat([ll[:, :, None], details.reshape(n, c, 3, h2, w2)], dim=2)
    blocks = torch.einsum('ij,ncjhw->ncihw', _HAAR.to(ll), coef)  # the matrix is its own inverse
    return F.pixel_shuffle(blocks.reshape(n, 4 * c, h2, w2), 2)


# ---------------------------------------------------------------------------------------------- scramble
def derive_scramble(key: bytes, nonce: bytes, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Permutation (int64, ``size``) and signs (±1 float32) of one portrait from SHAKE-256(k, n)."""
    if len(key) != KEY_BYTES or len(nonce) != NONCE_BYTES:
        raise KeyLockError(f'key must be {KEY_BYTES} bytes and nonce {NONCE_BYTES} bytes')
    xof = hashlib.shake_256(_STREAM_DOMAIN + len(key).to_bytes(2, 'big') + key + nonce +
                            size.to_bytes(8, 'big'))
    stream = xof.digest(8 * size + (size + 7) // 8)
    perm = np.argsort(np.frombuffer(stream[:8 * size], dtype='<u8'), kind='stable')
    bits = np.unpackbits(np.frombuffer(stream[8 * size:], dtype=np.uint8))[:size]
    return perm.astype(np.int64), (1.0 - 2.0 * bits).astype(np.float32)


@MODELS.register_module()
class KeyedCarrier(BaseModule):
    """Keyed scramble of G_X's detail bands (see the module docstring). No learnable weights.

    ``lock(y, a, keys, nonces)``: portraits y = G_X(x) and a = A(x) in [-1, 1] → y' with the low band of
    a and the scrambled detail bands of y.  ``unlock(y', keys, nonces)``: G_Y's input.  ``keys`` and
    ``nonces`` hold one entry per portrait (bytes).  ``unlock(y', None)`` is the absent-key input: y'
    as it is.
    """

    keyed = True  # recovery needs the key (HaarCarrier(keyed=False) uses a public scramble)

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self._last = None  # (keys, nonces, size, device) → index of the last call: unlock after lock reuses it

    def _index(self, keys: Sequence[bytes], nonces: Sequence[bytes], size: int, device) -> Tuple[Tensor, Tensor]:
        if len(keys) != len(nonces):
            raise ValueError(f'{len(keys)} keys for {len(nonces)} nonces')
        signature = (tuple(keys), tuple(nonces), size, str(device))
        if self._last is None or self._last[0] != signature:
            perms, signs = zip(*(derive_scramble(k, n, size) for k, n in zip(keys, nonces)))
            self._last = (signature, (torch.from_numpy(np.stack(perms)).to(device),
                                      torch.from_numpy(np.stack(signs)).to(device)))
        return self._last[1]

    def lock(self, y: Tensor, a: Tensor, keys: Sequence[bytes] = None, nonces: Sequence[bytes] = None,
             valid: Optional[Sequence[Tuple[int, int]]] = None) -> Tensor:
        """y' of portraits y = G_X(x) and a = A(x).  ``valid``: per portrait, the (h, w) of its top-left
        part that is real image (a padded tile, ``models/utils/tiles.py``); the carrier then lives in that
        part only (an odd last row/column stays A(x)) and the part is replicated into the padding."""
        if valid is None:
            return self._lock(y, a, keys, nonces)
        return self._on_valid(lambda t, k, n: self._lock(t[0], t[1], k, n), (y, a), a, valid, keys, nonces)

    def unlock(self, y: Tensor, keys=None, nonces=None, valid: Optional[Sequence[Tuple[int, int]]] = None) -> Tensor:
        """G_Y's input from y' (``valid`` as in :meth:`lock`)."""
        if valid is None:
            return self._unlock(y, keys, nonces)
        return self._on_valid(lambda t, k, n: self._unlock(t[0], k, n), (y, ), y, valid, keys, nonces)

    @staticmethod
    def _on_valid(fn, tensors, base: Tensor, valid, keys, nonces) -> Tensor:
        """``fn`` on the even-sized valid parts of the portraits, grouped by size; the rest is ``base``."""
        from .tiles import pad_tiles
        if len(valid) != base.shape[0]:
            raise ValueError(f'{len(valid)} valid sizes for {base.shape[0]} portraits')
        groups = {}
        for i, (vh, vw) in enumerate(valid):
            groups.setdefault((vh // 2 * 2, vw // 2 * 2), []).append(i)
        out = base.clone()
        for (vh, vw), idx in groups.items():
            if vh == 0 or vw == 0:
                continue
            ii = torch.as_tensor(idx, device=base.device)
            sub = [t[ii, :, :vh, :vw] for t in tensors]
            k = None if keys is None else [keys[i] for i in idx]
            n = None if nonces is None else [nonces[i] for i in idx]
            out[ii, :, :vh, :vw] = fn(sub, k, n)
        return pad_tiles(out, valid)

    def _lock(self, y: Tensor, a: Tensor, keys: Sequence[bytes], nonces: Sequence[bytes]) -> Tensor:
        if y.shape[0] == 0:
            return y
        _, details = haar2d(y)
        low, _ = haar2d(a)
        flat = details.flatten(1)
        perm, sign = self._index(keys, nonces, flat.shape[1], y.device)
        scrambled = torch.gather(flat, 1, perm) * sign.to(flat)
        return ihaar2d(low, scrambled.view_as(details))

    def _scramble(self, n: int, size: int, keys, nonces, device) -> Tuple[Tensor, Tensor]:
        """Permutation and signs (n × size) of the portraits' detail coefficients."""
        return self._index(keys, nonces, size, device)

    def _unlock(self, y: Tensor, keys=None, nonces=None) -> Tensor:
        if (keys is None and self.keyed) or y.shape[0] == 0:
            return y
        low, details = haar2d(y)
        flat = details.flatten(1)
        perm, sign = self._scramble(flat.shape[0], flat.shape[1], keys, nonces, y.device)
        restored = torch.empty_like(flat).scatter(1, perm, flat * sign.to(flat))
        return ihaar2d(low, restored.view_as(details))


def tile_nonce(nonce: bytes, index: int) -> bytes:
    """The nonce of tile ``index`` of a region whose nonce is ``nonce`` (native-resolution portraits,
    ``models/utils/tiles.py``): every tile gets its own scramble from the region's one public nonce."""
    if len(nonce) != NONCE_BYTES:
        raise KeyLockError(f'nonce must be {NONCE_BYTES} bytes')
    return hashlib.sha256(_STREAM_DOMAIN + b'tile' + nonce + int(index).to_bytes(4, 'big')).digest()[:NONCE_BYTES]


def random_keys(n: int, generator: torch.Generator = None) -> Tuple[List[bytes], List[bytes]]:
    """One key shared by ``n`` portraits (a camera) and a nonce each, from torch's RNG (reproducible under
    the run's seed)."""
    def draw(num: int) -> bytes:
        return bytes(torch.randint(0, 256, (num,), generator=generator, dtype=torch.uint8).tolist())
    key = draw(KEY_BYTES)
    return [key] * n, [draw(NONCE_BYTES) for _ in range(n)]
