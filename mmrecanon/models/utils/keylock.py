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
* The key is never written into images or sidecars. The sidecar holds a check value
  HMAC-SHA256(k, "mmrecanon key check v1")[:8 bytes], which only tells whether a given key is the one
  used; recovery with a key whose check value differs is refused.
* Key file: 64 hexadecimal characters (32 bytes from ``secrets.token_bytes``) on one line; ``#``
  comment lines are ignored. ``mmrecanon keygen`` writes it with mode 0600.
"""
import hashlib
import hmac
import os
import os.path as osp
import secrets
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmpose.registry import MODELS

KEY_BYTES = 32
NONCE_BYTES = 16
_CHECK_MESSAGE = b'mmrecanon key check v1'
_STREAM_DOMAIN = b'mmrecanon keylock v1'
# 2×2 orthonormal Haar on each block [a b; c d] (pixel_unshuffle order a, b, c, d): LL, H, V, D.
_HAAR = torch.tensor([[1., 1., 1., 1.], [1., -1., 1., -1.], [1., 1., -1., -1.], [1., -1., -1., 1.]]) / 2


class KeyLockError(ValueError):
    """A missing, malformed or wrong key (the CLI reports it in one line)."""


# ---------------------------------------------------------------------------------------------- keys
def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def generate_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def check_value(key: bytes) -> str:
    """Public fingerprint of a key (16 hex digits); reveals nothing usable about the key."""
    return hmac.new(key, _CHECK_MESSAGE, hashlib.sha256).hexdigest()[:16]


def parse_key(text: str) -> bytes:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith('#')]
    if len(lines) != 1:
        raise KeyLockError('a key file holds exactly one line of 64 hexadecimal characters')
    try:
        key = bytes.fromhex(lines[0])
    except ValueError:
        raise KeyLockError('the key is not hexadecimal') from None
    if len(key) != KEY_BYTES:
        raise KeyLockError(f'the key must be {KEY_BYTES} bytes (64 hex characters), got {len(key)} bytes')
    return key


def read_key_file(path: str) -> bytes:
    if not osp.isfile(path):
        raise FileNotFoundError(f'key file not found: {path}')
    with open(path, encoding='ascii', errors='replace') as f:
        try:
            return parse_key(f.read(4096))
        except KeyLockError as e:
            raise KeyLockError(f'{path}: {e}') from None


def write_key_file(path: str, key: bytes) -> None:
    """Write a new key file (mode 0600); never overwrites an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w', encoding='ascii') as f:
        f.write('# mmrecanon recovery key: keep secret; whoever holds it (and G_Y) can recover people\n')
        f.write(key.hex() + '\n')


def verify_key(key: bytes, expected_check: str) -> None:
    if not hmac.compare_digest(check_value(key), str(expected_check)):
        raise KeyLockError('wrong key: its check value does not match the one recorded at anonymization')


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

    def lock(self, y: Tensor, a: Tensor, keys: Sequence[bytes], nonces: Sequence[bytes]) -> Tensor:
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

    def unlock(self, y: Tensor, keys=None, nonces=None) -> Tensor:
        if (keys is None and self.keyed) or y.shape[0] == 0:
            return y
        low, details = haar2d(y)
        flat = details.flatten(1)
        perm, sign = self._scramble(flat.shape[0], flat.shape[1], keys, nonces, y.device)
        restored = torch.empty_like(flat).scatter(1, perm, flat * sign.to(flat))
        return ihaar2d(low, restored.view_as(details))


def random_keys(n: int, generator: torch.Generator = None) -> Tuple[List[bytes], List[bytes]]:
    """One key shared by ``n`` portraits (a camera) and a nonce each, from torch's RNG (reproducible under
    the run's seed)."""
    def draw(num: int) -> bytes:
        return bytes(torch.randint(0, 256, (num,), generator=generator, dtype=torch.uint8).tolist())
    key = draw(KEY_BYTES)
    return [key] * n, [draw(NONCE_BYTES) for _ in range(n)]
