"""The files a command works through: inputs found under -i, their outputs under -o, and the loop over them.

Light to import (OpenCV and MMEngine only inside the functions that need them).

* :func:`collect_inputs`, :class:`Job`, :func:`check_paths`, :func:`resolve_io`, :func:`check_writable`:
  what to read and write, checked before any model is loaded (inputs are never overwritten);
* :func:`write_image`: encode and write atomically (temporary file + rename: a file that exists is complete);
* :func:`run_jobs`: every job not done yet, with a progress bar; a bad input is reported in one line and
  skipped (``MMRECANON_DEBUG=1`` re-raises it with its traceback).
"""
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

from . import video
from .sidecar import bytes_digest, write_bytes

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov')
VIS_DIR = 'vis'
JPEG_QUALITY = 95  # JPEG outputs: high quality (JPEG re-encodes the whole frame, see README)
JPEG_EXTS = ('.jpg', '.jpeg')
# Lossy image formats as this module writes them (OpenCV writes WebP losslessly without a quality). The carrier
# in y' that recovery decodes does not survive them, so a reversible model writes such inputs as PNG unless
# --out-ext says otherwise. Videos keep their codec (mp4v for .mp4/.mov: playable; FFV1 is not) with a warning.
# What lossy outputs cost recovery: results/reliability.md (2026-12-04).
LOSSY_IMAGE_EXTS = JPEG_EXTS
RECOVERABLE_IMAGE_EXT = '.png'
# What to write for an image / video frame in which nobody was found (--if-nobody); the first is the default.
IF_NOBODY = ('desensitize', 'skip', 'keep')


class UsageError(Exception):
    """A user error: reported as one line on stderr, exit code 2."""


def debug() -> bool:
    return os.environ.get('MMRECANON_DEBUG', '') not in ('', '0')


def one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename and err.strerror:
        msg = f'{err.strerror}: {err.filename}'
    else:
        msg = str(err)
    return ' '.join(msg.split()) or type(err).__name__


def warn(msg: str) -> None:
    print(' '.join(msg.split()), file=sys.stderr, flush=True)


def write_image(path: str, img) -> str:
    """Encode and write atomically (temporary file + rename): a file that exists is complete.  Returns the
    sha256 of the bytes written."""
    import cv2
    ext = osp.splitext(path)[1].lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext in JPEG_EXTS else []
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise OSError(f'cannot encode {ext} image for {path}')
    write_bytes(path, buf.tofile)
    return bytes_digest(buf.tobytes())


def check_writable(out: str) -> None:
    """OUT (or the folder it will be created in) must be writable: checked before any model is loaded."""
    probe = out
    while not osp.exists(probe) and osp.dirname(probe) != probe:
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise UsageError(f'cannot create the output folder {out}: {probe} is not a folder')
    try:
        fd, tmp = tempfile.mkstemp(prefix='.mmrecanon-write-check-', dir=probe)
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        raise UsageError(f'output folder {out} is not writable ({e.strerror or e} in {probe})') from None


def kind(path: str) -> Optional[str]:
    ext = osp.splitext(path)[1].lower()
    return 'image' if ext in IMAGE_EXTS else 'video' if ext in VIDEO_EXTS else None


def inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def collect_inputs(src: str, exclude: Optional[str] = None) -> List[Tuple[str, str]]:
    """(path, relative posix name) of every image/video: IN itself, or IN's tree (sorted, recursive).

    Hidden files/folders (name starting with '.') and the ``exclude`` folder (OUT inside IN) are skipped.
    """
    if osp.isfile(src):
        if kind(src) is None:
            raise UsageError(f'unsupported input {src}: expected an image ({", ".join(IMAGE_EXTS)}), '
                           f'a video ({", ".join(VIDEO_EXTS)}) or a folder')
        return [(src, osp.basename(src))]
    found = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.') and
                         not (exclude and inside(osp.realpath(osp.join(root, d)), exclude)))
        for name in sorted(files):
            path = osp.join(root, name)
            if not name.startswith('.') and kind(name):
                found.append((path, osp.relpath(path, src).replace(os.sep, '/')))
    if not found:
        raise UsageError(f'no images ({", ".join(IMAGE_EXTS)}) or videos ({", ".join(VIDEO_EXTS)}) in {src}')
    return found


class Job:
    """One input file and its outputs."""

    def __init__(self, src: str, rel: str, out_dir: str, out_rel: str, vis: bool):
        self.src, self.rel, self.out_rel = src, rel, out_rel
        self.kind = kind(src)
        self.out = osp.join(out_dir, *out_rel.split('/'))
        stem = osp.splitext(out_rel)[0]
        self.vis = (osp.join(out_dir, VIS_DIR, *f'{stem}{".png" if self.kind == "image" else ".mp4"}'.split('/'))
                    if vis else None)

    def outputs(self) -> List[str]:
        return [p for p in (self.out, self.vis) if p]


def check_paths(jobs: List[Job], inputs: List[str], extra_outputs: List[str]) -> None:
    """Never overwrite an input; no two inputs may share an output."""
    ins = {osp.realpath(p) for p in inputs}
    seen: Dict[str, str] = {}
    for job in jobs:
        for out in job.outputs():
            real = osp.realpath(out)
            if real in ins:
                raise UsageError(f'output {out} would overwrite the input {out}; choose another output folder')
            if real in seen:
                raise UsageError(f'{job.rel} and {seen[real]} would both be written to {out}')
            seen[real] = job.rel
    for out in extra_outputs:
        if osp.realpath(out) in ins:
            raise UsageError(f'output {out} would overwrite an input file; choose another output folder')


def resolve_io(input_arg: str, output_arg: str) -> Tuple[str, str]:
    """Absolute -i and -o, checked: the input exists, the output is a folder and not the input's own."""
    src = osp.abspath(input_arg)
    out = osp.abspath(output_arg)
    if not osp.exists(src):
        raise FileNotFoundError(f'input not found: {input_arg}')
    if osp.isfile(out):
        raise UsageError(f'output {output_arg} is a file; -o/--output must be a folder')
    real_src, real_out = osp.realpath(src), osp.realpath(out)
    src_folder = real_src if osp.isdir(real_src) else osp.dirname(real_src)
    if real_out == src_folder:
        raise UsageError(f'output folder {output_arg} is the input location; choose another folder '
                       '(inputs are never overwritten)')
    return src, out


def progress(total: int, enabled: bool):
    if not enabled:
        return None
    from mmengine.utils import ProgressBar
    return ProgressBar(total, file=sys.stdout)



def run_jobs(jobs: List[Job], done, process, show_progress: bool) -> Tuple[int, int, int]:
    """Run ``process(job, bar)`` for every job not ``done``; bad inputs are reported and skipped."""
    import cv2
    todo = [j for j in jobs if not done(j)]
    finished = len(jobs) - len(todo)
    if finished:
        print(f'{finished} of {len(jobs)} file(s) already done in the output folder: skipped', flush=True)
    single_video = len(todo) == 1 and todo[0].kind == 'video'
    bar = None
    failed = ok = 0
    if single_video:
        bar = progress(video.frame_count(todo[0].src), show_progress)
    elif len(todo) > 1:
        bar = progress(len(todo), show_progress)
    for job in todo:
        try:
            process(job, bar if single_video else None)
            ok += 1
        except (ValueError, OSError, cv2.error) as e:  # InputError is a ValueError
            if debug():
                raise
            failed += 1
            warn(f'skipping {job.src}: {one_line(e)}')
        if bar is not None and not single_video:
            bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    return ok, finished, failed


def anonymize_jobs(src: str, out: str, out_ext: Optional[str] = None, vis: bool = False,
                   recoverable: bool = False) -> Tuple[List[Job], List[str]]:
    """The jobs of ``mmrecanon anonymize -i SRC -o OUT`` and the input paths they read (OUT inside SRC is
    skipped: its subtree holds our outputs, not inputs). ``out_ext``: images are written in that format;
    without it and with ``recoverable`` (a model whose y' is to be recovered), images in a lossy format
    (:data:`LOSSY_IMAGE_EXTS`) are written as :data:`RECOVERABLE_IMAGE_EXT`, the others in their own."""
    real_src, real_out = osp.realpath(src), osp.realpath(out)
    files = collect_inputs(src, exclude=real_out if inside(real_out, real_src) else None)
    jobs = []
    for path, rel in files:
        out_rel, ext = rel, None
        if kind(path) == 'image':
            if out_ext:
                ext = '.' + out_ext.lower().lstrip('.')
            elif recoverable and osp.splitext(rel)[1].lower() in LOSSY_IMAGE_EXTS:
                ext = RECOVERABLE_IMAGE_EXT
        if ext is not None:
            out_rel = osp.splitext(rel)[0] + ext
        jobs.append(Job(path, rel, out, out_rel, vis))
    return jobs, [p for p, _ in files]


def lossy_outputs(jobs: List[Job], fourcc: Optional[str]) -> List[str]:
    """The outputs of ``jobs`` that are written in a lossy format (JPEG images; videos whose codec, ``fourcc``
    or the default for their extension, is not FFV1)."""
    lossy = []
    for job in jobs:
        ext = osp.splitext(job.out)[1].lower()
        if job.kind == 'image' and ext in LOSSY_IMAGE_EXTS:
            lossy.append(job.out)
        elif job.kind == 'video' and not video.is_lossless(video.output_fourcc(job.out, fourcc)):
            lossy.append(job.out)
    return lossy


def check_renamed(jobs: List[Job], entries: Dict[str, dict], out: str) -> None:
    """Refuse a run that would write an input under another name than an earlier run in OUT did (e.g. a.jpg
    then, by default, a.png): the old output and its sidecar entry would outlive this run, beside the new one."""
    by_source = {e.get('source'): name for name, e in entries.items() if isinstance(e, dict)}
    for job in jobs:
        old = by_source.get(job.rel)
        if old is not None and old != job.out_rel:
            ext = osp.splitext(old)[1].lstrip('.')
            raise UsageError(f'{osp.join(out, old)} was written from {job.rel} by an earlier run; this run would '
                             f'write {job.out_rel}: pass --out-ext {ext} to continue that run, or choose another '
                             'output folder')
