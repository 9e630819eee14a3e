"""Keys and key files of key-locked models, without torch (``mmrecanon keygen`` answers in well under a second).

The format (the one place it is written): 64 hexadecimal characters (32 bytes from ``secrets.token_bytes``)
on one line, ``#`` comment lines ignored, mode 0600, never overwritten. The check value recorded in portrait
sidecars is HMAC-SHA256(k, "mmrecanon key check v1")[:8 bytes]: it only tells whether a given key is the one
used. :mod:`mmrecanon.models.utils.keylock` (the scramble, which needs torch) uses these.
"""
import hashlib
import hmac
import os
import os.path as osp
import secrets

KEY_BYTES = 32
NONCE_BYTES = 16
_CHECK_MESSAGE = b'mmrecanon key check v1'


class KeyLockError(ValueError):
    """A missing, malformed or wrong key (the CLI reports it in one line)."""


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def generate_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def check_value(key: bytes) -> str:
    """Public fingerprint of a key (16 hex digits); reveals nothing usable about the key."""
    return hmac.new(key, _CHECK_MESSAGE, hashlib.sha256).hexdigest()[:16]


def verify_key(key: bytes, expected_check: str) -> None:
    if not hmac.compare_digest(check_value(key), str(expected_check)):
        raise KeyLockError('wrong key: its check value does not match the one recorded at anonymization')


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


def create_key_file(path: str) -> str:
    """``mmrecanon keygen``: a new key in a new file at ``path``; returns the line to print. UsageError (one
    line) for an existing file or a missing folder. No torch: answers at once."""
    from .jobs import UsageError
    if osp.exists(path):
        raise UsageError(f'{path} exists; a key file is never overwritten (recovery of everything anonymized '
                         'with it would be lost)')
    parent = osp.dirname(osp.abspath(path))
    if not osp.isdir(parent):
        raise UsageError(f'folder not found: {parent}')
    key = generate_key()
    write_key_file(path, key)
    return (f'wrote {path} (256-bit key, mode 0600; check value {check_value(key)}). Keep it secret and backed '
            'up: without it key-locked people cannot be recovered.')
