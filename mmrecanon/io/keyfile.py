"""Key files for ``mmrecanon keygen`` without importing torch (the command answers in well under a second).

The same format and check value as :mod:`mmrecanon.models.utils.keylock` (which reads the key files and
uses the keys; it imports torch): 64 hexadecimal characters on one line, ``#`` comment lines ignored,
mode 0600, never overwritten.  ``tests/test_reliability.py`` checks that both modules agree.
"""
import hashlib
import hmac
import os
import secrets

KEY_BYTES = 32
_CHECK_MESSAGE = b'mmrecanon key check v1'  # = keylock._CHECK_MESSAGE


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def check_value(key: bytes) -> str:
    """Public fingerprint of a key (16 hex digits), as recorded in portrait sidecars."""
    return hmac.new(key, _CHECK_MESSAGE, hashlib.sha256).hexdigest()[:16]


def write_key_file(path: str, key: bytes) -> None:
    """Write a new key file (mode 0600); never overwrites an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w', encoding='ascii') as f:
        f.write('# mmrecanon recovery key: keep secret; whoever holds it (and G_Y) can recover people\n')
        f.write(key.hex() + '\n')
