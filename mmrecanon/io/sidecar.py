"""The portrait sidecar (``portraits.json``), ``poses.json``, and what resuming may trust.

* Every file is written atomically (hidden temporary file next to it + ``os.replace``).
* Each sidecar entry records what produced its output (``produced_by``: fingerprints of the checkpoint,
  the config, the person-box source, ``--if-nobody``, ``--score-thr``, the key check value and, for
  videos, the codec).  Resuming skips a file only when its output exists and the recorded
  fingerprint equals this run's; otherwise the file is redone and one line says what differed.
* Each entry also holds ``output_sha256`` (the bytes of the anonymized file) and ``boxes_sha256`` (what
  recovery reads from the entry: boxes / frames, nonces, size).  ``recover`` checks both before it applies
  G_Y (:func:`check_anonymized`): an edited or re-encoded image, or an edited box, is skipped with a reason.
* ``recover`` keeps its own record, ``recovered.json`` in its output folder (:class:`RecoverRecord`), with
  the same resume rule: an output is skipped only when the record says it was produced from the same
  checkpoint, config, key, anonymized file and boxes.
* Names that come from a sidecar or a boxes file are checked with :func:`unsafe_name` before anything
  is read or written under them: absolute names, ``..`` components and names that resolve (through
  symbolic links) outside their folder are refused.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional, Tuple

PORTRAITS = 'portraits.json'
POSES = 'poses.json'
RECOVERED = 'recovered.json'
SIDECAR_FORMAT = 'mmrecanon-portraits/1'
RECOVERED_FORMAT = 'mmrecanon-recovered/1'
# the fields of a portraits.json entry that recovery reads (covered by ``boxes_sha256``)
RECOVERY_FIELDS = ('type', 'width', 'height', 'boxes', 'frames', 'nonces', 'frame_nonces', 'nobody',
                   'nobody_frames')

# produced_by field → how a changed field is named in the "redoing" line
FIELDS = {'checkpoint': 'checkpoint', 'config': 'config', 'people': 'person boxes / detector',
          'score_thr': '--score-thr', 'if_nobody': '--if-nobody', 'key_check': 'key', 'fourcc': '--fourcc',
          'input': 'anonymized input file', 'boxes': 'portrait boxes'}


class SidecarError(ValueError):
    """A sidecar/boxes file that cannot be used: one line, exit code 2 on the command line."""


def _warn(msg: str) -> None:
    print(' '.join(msg.split()), file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ files
def tmp_path(path: str) -> str:
    """Hidden temporary name next to ``path`` (same extension: encoders pick the format from it)."""
    folder, name = osp.split(path)
    root, ext = osp.splitext(name)
    return osp.join(folder, f'.{root}.part-{os.getpid()}{ext}')


def remove_stale_tmp(path: str) -> None:
    """Temporary files of an interrupted earlier run for this output."""
    folder, name = osp.split(path)
    root, ext = osp.splitext(name)
    for stale in glob.glob(osp.join(glob.escape(folder), f'.{glob.escape(root)}.part-*{glob.escape(ext)}')):
        try:
            os.remove(stale)
        except OSError:
            pass


def write_bytes(path: str, write: Callable[[str], None]) -> None:
    """``write(tmp)`` then rename to ``path``: a file that exists is complete; no temporary file is left."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = tmp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def write_text(path: str, text: str) -> None:
    def write(tmp):
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
    write_bytes(path, write)


def _json_lines(items, open_: str, close: str) -> str:
    """JSON with one compact item per line (readable and diff-friendly for long box/keypoint lists)."""
    return open_ + '\n' + ',\n'.join(items) + ('\n' if items else '') + close + '\n'


def write_json_list(path: str, entries: list) -> None:
    write_text(path, _json_lines([' ' + json.dumps(e) for e in entries], '[', ']'))


def write_json_dict(path: str, head: dict, key: str, entries: dict) -> None:
    """``head``'s fields, then ``key`` → {name: entry}, one entry per line."""
    lines = [f' {json.dumps(k)}: {json.dumps(v)}' for k, v in head.items()]
    inner = _json_lines([f'  {json.dumps(k)}: {json.dumps(v)}' for k, v in entries.items()], '{', ' }')
    lines.append(f' {json.dumps(key)}: {inner.rstrip()}')
    write_text(path, _json_lines(lines, '{', '}'))


def read_json(path: str, what: str):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise SidecarError(f'{what} {path} is not valid JSON: {e.msg} (line {e.lineno})') from None
    except UnicodeDecodeError:
        raise SidecarError(f'{what} {path} is not UTF-8 text') from None
    except OSError as e:
        raise SidecarError(f'cannot read {what} {path}: {e.strerror or e}') from None


# ------------------------------------------------------------------------------------------ names
def unsafe_name(name, folder: str) -> Optional[str]:
    """Why the relative name ``name`` ('/'-separated) must not be used under ``folder``; None if it may.

    Refused: non-strings and empty names, absolute names, ``..`` components, NUL characters, and names
    whose real path (symbolic links resolved) lies outside ``folder``'s real path.
    """
    if not isinstance(name, str) or not name.strip():
        return 'not a file name'
    if '\x00' in name:
        return 'contains a NUL character'
    if name.startswith('/') or osp.isabs(name):
        return 'is an absolute path'
    parts = name.split('/')
    if '..' in parts:
        return 'contains ".." (names must stay inside their folder)'
    base = osp.realpath(folder)
    real = osp.realpath(osp.join(base, *parts))
    if real == base:
        return 'names the folder itself, not a file in it'
    if osp.commonpath([real, base]) != base:
        return f'resolves outside {folder} (symbolic link)'
    return None


# ------------------------------------------------------------------------------------------ fingerprints
_SHA_CACHE: Dict[Tuple[str, int, int], str] = {}


def sha256_file(path: str) -> str:
    """'sha256:<hex>' of a file's bytes; cached per (real path, size, mtime), so once per run per file."""
    real = osp.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(real, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                h.update(block)
        _SHA_CACHE[key] = 'sha256:' + h.hexdigest()
    return _SHA_CACHE[key]


def text_digest(text: str) -> str:
    return 'sha256:' + hashlib.sha256(text.encode('utf-8')).hexdigest()


def value_digest(value) -> str:
    """Digest of a JSON-able value (key order does not matter)."""
    return text_digest(json.dumps(value, sort_keys=True, separators=(',', ':'), default=str))


def config_digest(cfg) -> str:
    """Digest of an MMEngine config as dumped (``--cfg-options`` included)."""
    try:
        text = cfg.pretty_text
    except Exception:  # noqa: BLE001 - yapf cannot format some configs: fall back to the plain dict
        return value_digest(cfg.to_dict())
    return text_digest(text)


def changed_fields(old: dict, new: dict) -> List[str]:
    """Names (for the user) of the ``produced_by`` fields that differ; [] when equal."""
    keys = [k for k in list(new) + [k for k in old if k not in new] if old.get(k) != new.get(k)]
    return [FIELDS.get(k, k) for k in keys]


def resume_status(name: str, entry, outputs: List[str], produced_by: dict,
                  record: str = 'its sidecar entry') -> Tuple[bool, Optional[str]]:
    """(done, why it is redone or None): done when all ``outputs`` exist and ``entry`` records the same
    ``produced_by``."""
    if not all(osp.isfile(p) for p in outputs):
        return False, None
    if entry is None:
        return False, f'redoing {name}: an output exists but {record} is missing (written by another run?)'
    if not isinstance(entry, dict) or not isinstance(entry.get('produced_by'), dict):
        return False, f'redoing {name}: {record} does not record what produced it (written by an older mmrecanon)'
    changed = changed_fields(entry['produced_by'], produced_by)
    if changed:
        return False, f'redoing {name}: {", ".join(changed)} differ(s) from the run that wrote it'
    return True, None


def bytes_digest(data: bytes) -> str:
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def boxes_digest(entry: dict) -> str:
    """Digest of what recovery reads from a portraits.json entry (:data:`RECOVERY_FIELDS`)."""
    return value_digest({k: entry[k] for k in RECOVERY_FIELDS if k in entry})


def check_anonymized(entry: dict, path: str) -> Optional[str]:
    """Why the anonymized file ``path`` / its sidecar ``entry`` must not be recovered; None if they are
    the ones anonymize wrote, or 'unverified' when the entry has no digests (older mmrecanon)."""
    if 'output_sha256' not in entry or 'boxes_sha256' not in entry:
        return 'unverified'
    if sha256_file(path) != entry['output_sha256']:
        return ('its bytes differ from the file anonymize wrote (output_sha256 in the sidecar): edited, '
                're-encoded or replaced; G_Y needs the exact privacy-enhanced pixels')
    if boxes_digest(entry) != entry['boxes_sha256']:
        return ('its sidecar entry (boxes, nonces or size) was changed after anonymization (boxes_sha256): '
                'G_Y would be applied in the wrong place')
    return None


# ------------------------------------------------------------------------------------------ sidecars
class Sidecars:
    """``portraits.json`` (portrait boxes per image / per video frame) and ``poses.json`` in OUT.

    Both are rewritten atomically after every finished file.  ``jobs`` are objects with ``out_rel`` (the
    output name) and ``outputs()`` (the paths written for it).
    """

    def __init__(self, out_dir: str, info: dict, warn: Callable[[str], None] = _warn):
        self.out_dir = out_dir
        self.portraits_path = osp.join(out_dir, PORTRAITS)
        self.poses_path = osp.join(out_dir, POSES)
        self.info = info
        self.files: Dict[str, dict] = {}
        self.poses: Dict[str, list] = {}
        for path in (self.portraits_path, self.poses_path):
            remove_stale_tmp(path)
        dropped = 0
        if osp.isfile(self.portraits_path):
            data = read_json(self.portraits_path, 'portrait sidecar')
            if not isinstance(data, dict) or data.get('format') != SIDECAR_FORMAT:
                raise SidecarError(f'{self.portraits_path} is not an mmrecanon portraits file; '
                                   'remove it or choose another output folder')
            if data.get('key_check') != info.get('key_check'):
                raise SidecarError(f'{out_dir} holds portraits anonymized with another key (or with/without '
                                   'one); choose another output folder')
            files = data.get('files', {})
            for name, entry in (files.items() if isinstance(files, dict) else ()):
                reason = unsafe_name(name, out_dir)
                if reason is not None:
                    warn(f'warning: dropping the entry {name!r} of {self.portraits_path}: the name {reason}')
                    dropped += 1
                    continue
                self.files[name] = entry
        if osp.isfile(self.poses_path):
            data = read_json(self.poses_path, 'poses file')
            for entry in data if isinstance(data, list) else []:
                if isinstance(entry, dict) and entry.get('image') in self.files:
                    self.poses.setdefault(entry['image'], []).append(entry)
        if dropped:
            self._write()

    def status(self, job, produced_by: dict) -> Tuple[bool, Optional[str]]:
        """(done, why it is redone or None).  Done: outputs exist, entry present, same ``produced_by``."""
        entry = self.files.get(job.out_rel)
        if entry is None:  # an output without an entry: not ours to trust, redone silently as before
            return False, None
        return resume_status(job.out_rel, entry, job.outputs(), produced_by)

    def _write(self) -> None:
        write_json_list(self.poses_path, [p for name in self.files for p in self.poses.get(name, [])])
        write_json_dict(self.portraits_path, dict(format=SIDECAR_FORMAT, **self.info), 'files', self.files)

    def add(self, job, entry: dict, poses: list) -> None:
        self.files[job.out_rel] = entry
        self.poses[job.out_rel] = poses
        self._write()

    def remove(self, job) -> None:
        """Forget ``job`` and delete its outputs (an earlier run's outputs must not outlive a refusal)."""
        for path in job.outputs():
            if osp.isfile(path):
                os.remove(path)
        if self.files.pop(job.out_rel, None) is not None or self.poses.pop(job.out_rel, None) is not None:
            self._write()


class RecoverRecord:
    """``recovered.json`` in recover's output folder: what produced each recovered file (resume)."""

    def __init__(self, out_dir: str):
        self.path = osp.join(out_dir, RECOVERED)
        self.files: Dict[str, dict] = {}
        remove_stale_tmp(self.path)
        if osp.isfile(self.path):
            data = read_json(self.path, 'recover record')
            if not isinstance(data, dict) or data.get('format') != RECOVERED_FORMAT:
                raise SidecarError(f'{self.path} is not an mmrecanon recover record; remove it or choose '
                                   'another output folder')
            files = data.get('files', {})
            self.files = {k: v for k, v in (files.items() if isinstance(files, dict) else ())
                          if unsafe_name(k, out_dir) is None}

    def status(self, job, produced_by: dict) -> Tuple[bool, Optional[str]]:
        return resume_status(job.out_rel, self.files.get(job.out_rel), job.outputs(), produced_by,
                             f'its entry in {RECOVERED}')

    def add(self, job, produced_by: dict) -> None:
        self.files[job.out_rel] = dict(produced_by=produced_by, output_sha256=sha256_file(job.out))
        head = dict(format=RECOVERED_FORMAT, note='What produced each recovered file (mmrecanon recover resumes '
                    'only files whose record matches the run).')
        write_json_dict(self.path, head, 'files', self.files)


def load_portraits(path: str, with_header: bool = False):
    """The sidecar's per-file entries (and, with ``with_header``, the whole file as a dict)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'portrait sidecar not found: {path} (written by "mmrecanon anonymize" '
                                'next to its outputs; pass it with --portraits)')
    data = read_json(path, 'portrait sidecar')
    if not (isinstance(data, dict) and data.get('format') == SIDECAR_FORMAT and isinstance(data.get('files'), dict)):
        raise SidecarError(f'{path} is not an mmrecanon portraits file')
    return (data['files'], data) if with_header else data['files']
