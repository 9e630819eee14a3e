"""``mmrecanon`` command line: anonymize / recover images, folders and videos; export a camera checkpoint.

    mmrecanon anonymize -i IN -o OUT --config CFG --checkpoint CKPT [--boxes BOXES.json]
                        [--det-config C --det-checkpoint K] [--score-thr 0.3] [--vis] [--device cpu]
                        [--key-file KEYFILE]
    mmrecanon recover   -i IN -o OUT --config CFG --checkpoint CKPT [--portraits portraits.json]
                        [--key-file KEYFILE]
    mmrecanon keygen KEYFILE                      (key-locked models: anonymize/recover --key-file KEYFILE)
    mmrecanon export-camera CKPT OUT.pth

IN is an image, a video (.mp4/.avi/.mov) or a folder, searched recursively (hidden entries and OUT
itself are skipped); OUT is a folder that mirrors IN's relative names.  See README.md, section
"Command line: anonymize / recover", for the files written, the portrait sidecar and resuming.

Exit codes: 0 everything done, 1 some input files were skipped (one line each on stderr),
2 a usage error (one line on stderr, no traceback), 130 interrupted (run the same command again to
resume).  ``MMRECANON_DEBUG=1`` shows warnings and re-raises per-file errors with their traceback.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import warnings
from typing import Dict, List, Optional, Tuple

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov')
# Output video codecs: mp4v is what OpenCV can always write into MP4/MOV (lossy); FFV1 in AVI is
# lossless, so pixels outside the portraits stay bit-identical and G_Y gets exactly y'.
VIDEO_FOURCC = {'.mp4': 'mp4v', '.mov': 'mp4v', '.avi': 'FFV1'}
PORTRAITS = 'portraits.json'
POSES = 'poses.json'
VIS_DIR = 'vis'
SIDECAR_FORMAT = 'mmrecanon-portraits/1'
DEFAULT_FPS = 25.0  # when a video does not report its frame rate
JPEG_QUALITY = 95  # JPEG outputs: high quality (JPEG re-encodes the whole frame, see README)
CAMERA_DROP = ('recoverer.', 'disc_enhanced.', 'disc_recovered.')


class CLIError(Exception):
    """A user error: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise CLIError(f'{self.prog}: {message}')


def _debug() -> bool:
    return os.environ.get('MMRECANON_DEBUG', '') not in ('', '0')


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename and err.strerror:
        msg = f'{err.strerror}: {err.filename}'
    else:
        msg = str(err)
    return ' '.join(msg.split()) or type(err).__name__


def _warn(msg: str) -> None:
    print(' '.join(msg.split()), file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ files
def _tmp_path(path: str) -> str:
    """Hidden temporary name next to ``path`` (same extension: encoders pick the format from it)."""
    folder, name = osp.split(path)
    root, ext = osp.splitext(name)
    return osp.join(folder, f'.{root}.part-{os.getpid()}{ext}')


def _remove_stale_tmp(path: str) -> None:
    """Temporary files of an interrupted earlier run for this output."""
    folder, name = osp.split(path)
    root, ext = osp.splitext(name)
    for stale in glob.glob(osp.join(glob.escape(folder), f'.{glob.escape(root)}.part-*{glob.escape(ext)}')):
        try:
            os.remove(stale)
        except OSError:
            pass


def _write_image(path: str, img) -> None:
    """Encode and write atomically (temporary file + rename): a file that exists is complete."""
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    ext = osp.splitext(path)[1].lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext in ('.jpg', '.jpeg') else []
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise OSError(f'cannot encode {ext} image for {path}')
    tmp = _tmp_path(path)
    try:
        buf.tofile(tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def _write_text(path: str, text: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = _tmp_path(path)
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def _json_lines(items, open_: str, close: str) -> str:
    """JSON with one compact item per line (readable and diff-friendly for long box/keypoint lists)."""
    return open_ + '\n' + ',\n'.join(items) + ('\n' if items else '') + close + '\n'


def _write_json_list(path: str, entries: list) -> None:
    _write_text(path, _json_lines([' ' + json.dumps(e) for e in entries], '[', ']'))


def _write_json_dict(path: str, head: dict, key: str, entries: dict) -> None:
    """``head``'s fields, then ``key`` → {name: entry}, one entry per line."""
    lines = [f' {json.dumps(k)}: {json.dumps(v)}' for k, v in head.items()]
    inner = _json_lines([f'  {json.dumps(k)}: {json.dumps(v)}' for k, v in entries.items()], '{', ' }')
    lines.append(f' {json.dumps(key)}: {inner.rstrip()}')
    _write_text(path, _json_lines(lines, '{', '}'))


def _read_json(path: str, what: str):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise CLIError(f'{what} {path} is not valid JSON: {e.msg} (line {e.lineno})') from None
    except OSError as e:
        raise CLIError(f'cannot read {what} {path}: {e.strerror or e}') from None


def _kind(path: str) -> Optional[str]:
    ext = osp.splitext(path)[1].lower()
    return 'image' if ext in IMAGE_EXTS else 'video' if ext in VIDEO_EXTS else None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def collect_inputs(src: str, exclude: Optional[str] = None) -> List[Tuple[str, str]]:
    """(path, relative posix name) of every image/video: IN itself, or IN's tree (sorted, recursive).

    Hidden files/folders (name starting with '.') and the ``exclude`` folder (OUT inside IN) are skipped.
    """
    if osp.isfile(src):
        if _kind(src) is None:
            raise CLIError(f'unsupported input {src}: expected an image ({", ".join(IMAGE_EXTS)}), '
                           f'a video ({", ".join(VIDEO_EXTS)}) or a folder')
        return [(src, osp.basename(src))]
    found = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.') and
                         not (exclude and _inside(osp.realpath(osp.join(root, d)), exclude)))
        for name in sorted(files):
            path = osp.join(root, name)
            if not name.startswith('.') and _kind(name):
                found.append((path, osp.relpath(path, src).replace(os.sep, '/')))
    if not found:
        raise CLIError(f'no images ({", ".join(IMAGE_EXTS)}) or videos ({", ".join(VIDEO_EXTS)}) in {src}')
    return found


class Job:
    """One input file and its outputs."""

    def __init__(self, src: str, rel: str, out_dir: str, out_rel: str, vis: bool):
        self.src, self.rel, self.out_rel = src, rel, out_rel
        self.kind = _kind(src)
        self.out = osp.join(out_dir, *out_rel.split('/'))
        stem = osp.splitext(out_rel)[0]
        self.vis = (osp.join(out_dir, VIS_DIR, *f'{stem}{".png" if self.kind == "image" else ".mp4"}'.split('/'))
                    if vis else None)

    def outputs(self) -> List[str]:
        return [p for p in (self.out, self.vis) if p]


def _check_paths(jobs: List[Job], inputs: List[str], extra_outputs: List[str]) -> None:
    """Never overwrite an input; no two inputs may share an output."""
    ins = {osp.realpath(p) for p in inputs}
    seen: Dict[str, str] = {}
    for job in jobs:
        for out in job.outputs():
            real = osp.realpath(out)
            if real in ins:
                raise CLIError(f'output {out} would overwrite the input {out}; choose another output folder')
            if real in seen:
                raise CLIError(f'{job.rel} and {seen[real]} would both be written to {out}')
            seen[real] = job.rel
    for out in extra_outputs:
        if osp.realpath(out) in ins:
            raise CLIError(f'output {out} would overwrite an input file; choose another output folder')


def _resolve_io(args) -> Tuple[str, str]:
    src = osp.abspath(args.input)
    out = osp.abspath(args.output)
    if not osp.exists(src):
        raise FileNotFoundError(f'input not found: {args.input}')
    if osp.isfile(out):
        raise CLIError(f'output {args.output} is a file; -o/--output must be a folder')
    real_src, real_out = osp.realpath(src), osp.realpath(out)
    src_folder = real_src if osp.isdir(real_src) else osp.dirname(real_src)
    if real_out == src_folder:
        raise CLIError(f'output folder {args.output} is the input location; choose another folder '
                       '(inputs are never overwritten)')
    return src, out


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from mmengine.utils import ProgressBar
    return ProgressBar(total, file=sys.stdout)


# ------------------------------------------------------------------------------------------ boxes
def _parse_boxes(value, where: str):
    import numpy as np
    if not isinstance(value, list) or not all(isinstance(b, list) and len(b) == 4 and
                                              all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in b) for b in value):
        raise CLIError(f'{where}: expected a list of [x1, y1, x2, y2] boxes')
    return np.asarray(value, np.float32).reshape(-1, 4)


class BoxSpec:
    """Person boxes given with ``--boxes`` (xyxy, image pixels).  Accepted JSON:

    * ``[[x1, y1, x2, y2], ...]``: the same boxes for every image and every video frame;
    * ``{"name": [[x1, y1, x2, y2], ...], ...}``: per input file (its name relative to IN, or its file
      name), for a video the boxes of every frame;
    * ``{"clip.mp4": {"0": [[...]], "7": [[...]]}}``: per video frame (0-based index).
    ``[]`` means "nobody here".  Images/frames not listed are detected (detector or bottom-up P).
    """

    def __init__(self, path: str):
        data = _read_json(path, 'boxes file')
        self.path = path
        self.default = None
        self.per_file: Dict[str, object] = {}
        if isinstance(data, list):
            self.default = _parse_boxes(data, path)
        elif isinstance(data, dict):
            for name, value in data.items():
                if isinstance(value, dict):
                    frames = {}
                    for idx, boxes in value.items():
                        if not str(idx).isdigit():
                            raise CLIError(f'{path}: frame keys of {name!r} must be 0-based indices, got {idx!r}')
                        frames[int(idx)] = _parse_boxes(boxes, f'{path}[{name!r}][{idx!r}]')
                    self.per_file[name] = frames
                else:
                    self.per_file[name] = _parse_boxes(value, f'{path}[{name!r}]')
        else:
            raise CLIError(f'{path}: expected a list of boxes or an object keyed by file name')

    def _entry(self, rel: str):
        if rel in self.per_file:
            return self.per_file[rel]
        return self.per_file.get(osp.basename(rel), self.default)

    def get(self, rel: str, frame: Optional[int] = None):
        """Boxes for an image (``frame=None``) or a video frame; None when not given."""
        entry = self._entry(rel)
        if isinstance(entry, dict):
            return entry.get(frame) if frame is not None else None
        return entry


# ------------------------------------------------------------------------------------------ sidecars
class Sidecars:
    """``portraits.json`` (portrait boxes per image / per video frame) and ``poses.json`` in OUT.

    Both are rewritten atomically after every finished file; an output counts as complete only when it
    exists *and* has its portraits.json entry, so an interrupted run resumes where it stopped.
    """

    def __init__(self, out_dir: str, info: dict):
        self.portraits_path = osp.join(out_dir, PORTRAITS)
        self.poses_path = osp.join(out_dir, POSES)
        self.info = info
        self.files: Dict[str, dict] = {}
        self.poses: Dict[str, list] = {}
        for path in (self.portraits_path, self.poses_path):
            _remove_stale_tmp(path)
        if osp.isfile(self.portraits_path):
            data = _read_json(self.portraits_path, 'portrait sidecar')
            if not isinstance(data, dict) or data.get('format') != SIDECAR_FORMAT:
                raise CLIError(f'{self.portraits_path} is not an mmrecanon portraits file; '
                               'remove it or choose another output folder')
            if data.get('key_check') != info.get('key_check'):
                raise CLIError(f'{out_dir} holds portraits anonymized with another key (or with/without one); '
                               'choose another output folder')
            self.files = dict(data.get('files', {}))
        if osp.isfile(self.poses_path):
            data = _read_json(self.poses_path, 'poses file')
            for entry in data if isinstance(data, list) else []:
                if isinstance(entry, dict) and 'image' in entry:
                    self.poses.setdefault(entry['image'], []).append(entry)

    def done(self, job: Job) -> bool:
        return job.out_rel in self.files and all(osp.isfile(p) for p in job.outputs())

    def add(self, job: Job, entry: dict, poses: list) -> None:
        self.files[job.out_rel] = entry
        self.poses[job.out_rel] = poses
        _write_json_list(self.poses_path, [p for name in self.files for p in self.poses.get(name, [])])
        _write_json_dict(self.portraits_path, dict(format=SIDECAR_FORMAT, **self.info), 'files', self.files)


def load_portraits(path: str, with_header: bool = False):
    """The sidecar's per-file entries (and, with ``with_header``, the whole file as a dict)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'portrait sidecar not found: {path} (written by "mmrecanon anonymize" '
                                'next to its outputs; pass it with --portraits)')
    data = _read_json(path, 'portrait sidecar')
    if not (isinstance(data, dict) and data.get('format') == SIDECAR_FORMAT and isinstance(data.get('files'), dict)):
        raise CLIError(f'{path} is not an mmrecanon portraits file')
    return (data['files'], data) if with_header else data['files']


def _coco_entries(inst, image: str, frame: Optional[int] = None) -> list:
    """COCO-style keypoint results (one per person): bbox [x, y, w, h]; score = box score × mean
    keypoint score (MMPose's 'bbox_keypoint' score mode)."""
    import numpy as np

    from .apis.inference import _instance_boxes, _instance_scores
    if len(inst) == 0:
        return []
    kpts = np.asarray(inst.keypoints, np.float64).reshape(len(inst), -1, 2)
    kscores = np.asarray(inst.keypoint_scores, np.float64).reshape(len(inst), -1)
    boxes = _instance_boxes(inst).astype(np.float64)
    bscores = _instance_scores(inst).astype(np.float64) if ('bbox_scores' in inst or 'scores' in inst) \
        else np.ones(len(inst))
    entries = []
    for i in range(len(inst)):
        x1, y1, x2, y2 = boxes[i]
        entry = dict(image=image)
        if frame is not None:
            entry['frame'] = frame
        entry.update(category_id=1, bbox=[round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)],
                     score=round(float(bscores[i] * kscores[i].mean()), 4),
                     keypoints=[round(float(v), 2) if j % 3 < 2 else round(float(v), 4)
                                for k in range(kpts.shape[1])
                                for j, v in enumerate((kpts[i, k, 0], kpts[i, k, 1], kscores[i, k]))])
        entries.append(entry)
    return entries


# ------------------------------------------------------------------------------------------ video io
def _open_video(path: str):
    import cv2

    from .apis.inference import MAX_SIDE, InputError
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise InputError('cannot open the video (corrupt or unsupported file)')
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if max(w, h) > MAX_SIDE:
        cap.release()
        raise InputError(f'video frames are {w}×{h} px; the longest side may be at most {MAX_SIDE} px')
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and fps == fps and 0 < fps < 1000 else DEFAULT_FPS
    return cap, (w, h), fps, max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)


def _video_writer(path: str, fps: float, size: Tuple[int, int], fourcc: Optional[str]):
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    code = fourcc or VIDEO_FOURCC.get(osp.splitext(path)[1].lower(), 'mp4v')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*code), fps, size)
    if not writer.isOpened():
        raise OSError(f'cannot write video {path} with codec {code!r} (try --fourcc)')
    return writer


class _VideoOut:
    """Frames written in order to a temporary file, renamed to ``path`` when complete."""

    def __init__(self, path: str, fps: float, size, fourcc: Optional[str]):
        self.path, self.tmp = path, _tmp_path(path)
        self.writer = _video_writer(self.tmp, fps, size, fourcc)

    def write(self, frame) -> None:
        self.writer.write(frame)

    def commit(self) -> None:
        self.writer.release()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.release()
        if osp.exists(self.tmp):
            os.remove(self.tmp)


def _frames(cap, size):
    """Decoded frames in order; a frame of another size is an input error."""
    from .apis.inference import InputError
    idx = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if (frame.shape[1], frame.shape[0]) != tuple(size):
            raise InputError(f'frame {idx} is {frame.shape[1]}×{frame.shape[0]}, expected {size[0]}×{size[1]}')
        yield idx, frame
        idx += 1


# ------------------------------------------------------------------------------------------ anonymize
def _panel(model, original, enhanced, poses):
    from .visualization import draw_panel
    view = 'enhanced' if model.has_generators else 'conventional'
    frames = {'original': original, view: enhanced, 'poses': enhanced}
    return draw_panel(frames, {'poses': poses}, model.dataset_meta, views=('original', view, 'poses'))


class Anonymizer:

    def __init__(self, model, args, spec: Optional[BoxSpec], sidecars: Sidecars, key: Optional[bytes] = None):
        self.model, self.args, self.spec, self.sidecars, self.key = model, args, spec, sidecars, key

    def _boxes(self, rel: str, frame: Optional[int] = None):
        return self.spec.get(rel, frame) if self.spec is not None else None

    def image(self, job: Job) -> None:
        from .apis import anonymize_image, read_image
        img = read_image(job.src)
        res = anonymize_image(self.model, img, self._boxes(job.rel), self.args.score_thr, self.key)
        for p in job.outputs():
            _remove_stale_tmp(p)
        _write_image(job.out, res['enhanced'])
        if job.vis:
            _write_image(job.vis, _panel(self.model, img, res['enhanced'], res['poses']))
        entry = dict(type='image', source=job.rel, height=img.shape[0], width=img.shape[1], boxes=res['boxes'])
        if 'nonces' in res:
            entry['nonces'] = res['nonces']
        self.sidecars.add(job, entry, _coco_entries(res['poses'], job.out_rel))

    def video(self, job: Job, bar=None) -> None:
        from .apis import anonymize_image
        from .apis.inference import InputError
        cap, size, fps, _ = _open_video(job.src)
        for p in job.outputs():
            _remove_stale_tmp(p)
        outs = []
        try:
            outs.append(_VideoOut(job.out, fps, size, self.args.fourcc))
            if job.vis:
                outs.append(_VideoOut(job.vis, fps, (3 * size[0], size[1]), 'mp4v'))
            frames, nonces, poses = [], [], []
            for idx, frame in _frames(cap, size):
                res = anonymize_image(self.model, frame, self._boxes(job.rel, idx), self.args.score_thr,
                                      self.key)
                outs[0].write(res['enhanced'])
                if job.vis:
                    outs[1].write(_panel(self.model, frame, res['enhanced'], res['poses']))
                frames.append(res['boxes'])
                nonces.append(res.get('nonces'))
                poses.extend(_coco_entries(res['poses'], job.out_rel, idx))
                if bar is not None:
                    bar.update()
            if not frames:
                raise InputError('no frame could be decoded (corrupt or empty video)')
            for out in outs:
                out.commit()
        except BaseException:
            for out in outs:
                out.abort()
            raise
        finally:
            cap.release()
        entry = dict(type='video', source=job.rel, height=size[1], width=size[0], fps=fps, frames=frames)
        if self.key is not None:
            entry['frame_nonces'] = nonces
        self.sidecars.add(job, entry, poses)


def _run_jobs(jobs: List[Job], done, process, progress: bool) -> Tuple[int, int, int]:
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
        bar = _progress(_frame_count(todo[0].src), progress)
    elif len(todo) > 1:
        bar = _progress(len(todo), progress)
    for job in todo:
        try:
            process(job, bar if single_video else None)
            ok += 1
        except (ValueError, OSError, cv2.error) as e:  # InputError is a ValueError
            if _debug():
                raise
            failed += 1
            _warn(f'skipping {job.src}: {_one_line(e)}')
        if bar is not None and not single_video:
            bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    return ok, finished, failed


def _frame_count(path: str) -> int:
    import cv2
    cap = cv2.VideoCapture(path)
    try:
        return max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if cap.isOpened() else 0
    finally:
        cap.release()


def _load_model(args):
    from .apis import init_recanon
    for flag, path in (('--config', args.config), ('--checkpoint', args.checkpoint)):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{flag} file not found: {path}')
    return init_recanon(args.config, args.checkpoint, device=_device(args.device),
                        cfg_options=args.cfg_options, det_config=getattr(args, 'det_config', None),
                        det_checkpoint=getattr(args, 'det_checkpoint', None))


def _device(device: Optional[str]) -> str:
    import torch
    if device is None:
        return 'cuda:0' if torch.cuda.is_available() else 'cpu'
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise CLIError(f'--device {device}: no CUDA device available')
    return device


def cmd_anonymize(args) -> int:
    src, out = _resolve_io(args)
    if (args.det_config is None) != (args.det_checkpoint is None):
        raise CLIError('--det-config and --det-checkpoint go together')
    if args.out_ext is not None and not args.out_ext.lower().lstrip('.') in [e[1:] for e in IMAGE_EXTS]:
        raise CLIError(f'--out-ext must be one of {", ".join(IMAGE_EXTS)}, got {args.out_ext}')
    spec = BoxSpec(args.boxes) if args.boxes else None
    real_src, real_out = osp.realpath(src), osp.realpath(out)
    # OUT inside IN: its subtree holds our outputs, not inputs
    files = collect_inputs(src, exclude=real_out if _inside(real_out, real_src) else None)
    jobs = []
    for path, rel in files:
        out_rel = rel
        if args.out_ext and _kind(path) == 'image':
            out_rel = osp.splitext(rel)[0] + '.' + args.out_ext.lower().lstrip('.')
        jobs.append(Job(path, rel, out, out_rel, args.vis))
    _check_paths(jobs, [p for p, _ in files], [osp.join(out, PORTRAITS), osp.join(out, POSES)])

    key = _read_key(args)
    model = _load_model(args)
    from .apis.inference import check_key_use
    check_key_use(model, key, 'anonymizing')
    if spec is None and model.pose.pose_mode == 'topdown' and model.detector is None:
        raise CLIError('the pose model of this config is top-down and cannot find people by itself: pass '
                       'person boxes (--boxes BOXES.json) or a detector (--det-config/--det-checkpoint)')
    os.makedirs(out, exist_ok=True)
    info = dict(
        note='Portrait boxes [x1, y1, x2, y2] (image pixels) that were privacy-enhanced, per image / per '
             'video frame. "mmrecanon recover" needs them. Not secret: they only say where people are.',
        config=osp.basename(args.config), method=model.method, portrait_size=model.portrait_size,
        portrait_margin=model.portrait_margin)
    if key is not None:
        from .models.utils.keylock import check_value
        info.update(key_check=check_value(key), key_note='Key-locked: recovery needs the key file. nonces are '
                    'public per-portrait values; key_check only tells whether a key is the right one.')
    sidecars = Sidecars(out, info)
    worker = Anonymizer(model, args, spec, sidecars, key)

    def process(job, bar):
        worker.image(job) if job.kind == 'image' else worker.video(job, bar)

    ok, finished, failed = _run_jobs(jobs, sidecars.done, process, not args.no_progress)
    print(f'anonymized {ok} file(s), {finished} already done, {failed} skipped -> {out} '
          f'({PORTRAITS} holds the portrait boxes recovery needs)', flush=True)
    return 1 if failed else 0


# ------------------------------------------------------------------------------------------ recover
def cmd_recover(args) -> int:
    src, out = _resolve_io(args)
    model = _load_model(args)
    if not model.can_recover:
        raise CLIError(f'cannot recover with {args.checkpoint}: ' + (
            'it has no recovery weights (G_Y) - a camera export cannot recover people; use the full checkpoint'
            if model.has_generators else 'the conventional method A(x) is not reversible'))
    key = _read_key(args)
    base = src if osp.isdir(src) else osp.dirname(src)
    sidecar = osp.abspath(args.portraits) if args.portraits else osp.join(base, PORTRAITS)
    entries, header = load_portraits(sidecar, with_header=True)
    from .apis.inference import check_key_use
    if key is None and 'key_check' in header:
        raise CLIError(f'{sidecar}: these portraits are key-locked; recover them with their key-locked model and '
                       '--key-file')
    check_key_use(model, key, 'recovery')
    if key is not None:
        from .models.utils.keylock import verify_key
        if 'key_check' not in header:
            raise CLIError(f'{sidecar} was written without a key: these portraits are not key-locked')
        verify_key(key, header['key_check'])
    if osp.isdir(src):
        names = sorted(entries)
    else:
        rel = osp.relpath(src, osp.dirname(sidecar)).replace(os.sep, '/')
        if rel not in entries:
            matches = [n for n in entries if osp.basename(n) == osp.basename(src)]
            if len(matches) != 1:
                raise CLIError(f'{sidecar} has no portrait boxes for {args.input}')
            rel = matches[0]
        names = [rel]
    jobs, inputs = [], []
    for name in names:
        path = osp.join(src, *name.split('/')) if osp.isdir(src) else src
        job = Job(path, name, out, osp.basename(src) if not osp.isdir(src) else name, False)
        if job.kind is None:
            raise CLIError(f'{sidecar}: unsupported file type for {name}')
        jobs.append(job)
        inputs.append(path)
    _check_paths(jobs, inputs + [sidecar], [])
    os.makedirs(out, exist_ok=True)

    def process(job, bar):
        from .apis.inference import InputError
        if not osp.isfile(job.src):
            raise InputError('file listed in the portrait sidecar not found')
        entry = entries[job.rel]
        _remove_stale_tmp(job.out)
        if job.kind == 'image':
            from .apis import read_image, recover_image
            img = read_image(job.src)
            _check_size(entry, img.shape[1], img.shape[0])
            _write_image(job.out, recover_image(model, img, entry.get('boxes', []), key, entry.get('nonces')))
        else:
            _recover_video(model, job, entry, args.fourcc, bar, key)

    ok, finished, failed = _run_jobs(jobs, lambda j: osp.isfile(j.out), process, not args.no_progress)
    print(f'recovered {ok} file(s), {finished} already done, {failed} skipped -> {out}', flush=True)
    return 1 if failed else 0


def _check_size(entry: dict, w: int, h: int) -> None:
    from .apis.inference import InputError
    if (entry.get('width'), entry.get('height')) not in ((None, None), (w, h)):
        raise InputError(f'is {w}×{h} but the sidecar boxes are for {entry["width"]}×{entry["height"]} '
                         '(resized after anonymization?)')


def _recover_video(model, job: Job, entry: dict, fourcc: Optional[str], bar, key: Optional[bytes] = None) -> None:
    from .apis import recover_image
    from .apis.inference import InputError
    frames = entry.get('frames')
    if not isinstance(frames, list):
        raise InputError('the sidecar entry has no per-frame boxes')
    nonces = entry.get('frame_nonces') if key is not None else None
    if key is not None and not (isinstance(nonces, list) and len(nonces) == len(frames)):
        raise InputError('the sidecar entry has no per-frame nonces (not anonymized with a key?)')
    cap, size, fps, _ = _open_video(job.src)
    _check_size(entry, *size)
    out = None
    try:
        out = _VideoOut(job.out, fps, size, fourcc)
        n = 0
        for idx, frame in _frames(cap, size):
            if idx >= len(frames):
                raise InputError(f'has more frames than the sidecar ({len(frames)})')
            out.write(recover_image(model, frame, frames[idx], key, None if nonces is None else nonces[idx]))
            n += 1
            if bar is not None:
                bar.update()
        if n != len(frames):
            raise InputError(f'has {n} frames but the sidecar lists {len(frames)}')
        out.commit()
    except BaseException:
        if out is not None:
            out.abort()
        raise
    finally:
        cap.release()


# ------------------------------------------------------------------------------------------ keys
def _read_key(args) -> Optional[bytes]:
    if getattr(args, 'key_file', None) is None:
        return None
    from .models.utils.keylock import read_key_file
    return read_key_file(args.key_file)


def cmd_keygen(args) -> int:
    from .models.utils.keylock import check_value, generate_key, write_key_file
    if osp.exists(args.key_file):
        raise CLIError(f'{args.key_file} exists; a key file is never overwritten (recovery of everything '
                       'anonymized with it would be lost)')
    parent = osp.dirname(osp.abspath(args.key_file))
    if not osp.isdir(parent):
        raise CLIError(f'folder not found: {parent}')
    key = generate_key()
    write_key_file(args.key_file, key)
    print(f'wrote {args.key_file} (256-bit key, mode 0600; check value {check_value(key)}). Keep it secret and '
          'backed up: without it key-locked people cannot be recovered.', flush=True)
    return 0


# ------------------------------------------------------------------------------------------ export
def cmd_export_camera(args) -> int:
    """Checkpoint for the camera side: G_X and P only (no G_Y, no discriminators, no optimizer state)."""
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint

    import mmrecanon  # noqa: F401  (torch >= 2.6 checkpoint loading shim)
    src, dst = osp.abspath(args.checkpoint), osp.abspath(args.out)
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
    if osp.realpath(dst) == osp.realpath(src):
        raise CLIError('the camera checkpoint must not overwrite the full checkpoint; choose another OUT path')
    if osp.isdir(dst):
        raise CLIError(f'{args.out} is a folder; give the file name of the camera checkpoint')
    try:
        ckpt = _load_checkpoint(src, map_location='cpu', logger='silent')
    except Exception as e:  # noqa: BLE001 - corrupt / foreign file
        raise CLIError(f'cannot read checkpoint {args.checkpoint}: {_one_line(e)}') from None
    sd = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict) or not any(k.startswith(('enhancer.', 'pose_estimator.')) for k in sd):
        raise CLIError(f'{args.checkpoint} is not a ReCanon checkpoint (no enhancer.* / pose_estimator.* weights)')
    keep = {k: v for k, v in sd.items() if not k.startswith(CAMERA_DROP)}
    meta = dict(ckpt.get('meta') or {}) if isinstance(ckpt.get('meta', None), dict) else {}
    meta.update(mmrecanon_camera_export=True, source_checkpoint=osp.basename(src))
    os.makedirs(osp.dirname(dst), exist_ok=True)
    tmp = _tmp_path(dst)
    try:
        torch.save({'state_dict': keep, 'meta': meta}, tmp)
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    dropped = len(sd) - len(keep)
    print(f'wrote {args.out}: {len(keep)} tensors (G_X, P); removed {dropped} recoverer/discriminator tensors'
          f'{" and the optimizer state" if "optimizer" in ckpt else ""}', flush=True)
    return 0


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    from mmengine.config import DictAction
    parser = _Parser(prog='mmrecanon', description='Reversible privacy-preserving pose estimation: anonymize '
                     'people in images/videos (G_X), recover them (G_Y), export camera checkpoints.')
    sub = parser.add_subparsers(dest='command', metavar='{anonymize,recover,keygen,export-camera}')
    sub.required = True

    def model_args(p):
        p.add_argument('-i', '--input', required=True, help='image, video (.mp4/.avi/.mov) or folder (recursive)')
        p.add_argument('-o', '--output', required=True, help='output folder (mirrors the input names)')
        p.add_argument('--config', required=True, help='ReCanon config file')
        p.add_argument('--checkpoint', required=True, help='checkpoint file')
        p.add_argument('--device', default=None, help='cpu, cuda:0, ... (default: cuda:0 if available)')
        p.add_argument('--fourcc', default=None,
                       help='output video codec (default: mp4v for .mp4/.mov, lossless FFV1 for .avi)')
        p.add_argument('--no-progress', action='store_true', help='no progress bar')
        p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE',
                       help='override config settings')
        p.add_argument('--key-file', default=None,
                       help='key file of a key-locked model (from "mmrecanon keygen"); required by such models')

    p = sub.add_parser('anonymize', help='privacy-enhance every person (G_X), estimate poses')
    model_args(p)
    p.add_argument('--boxes', help='JSON person boxes [x1, y1, x2, y2] (see README); else people are detected')
    p.add_argument('--det-config', help='MMDet detector config (person boxes for top-down P)')
    p.add_argument('--det-checkpoint', help='MMDet detector checkpoint')
    p.add_argument('--score-thr', type=float, default=0.3, help='person detection / pose score threshold')
    p.add_argument('--vis', action='store_true', help='also write original | privacy-enhanced | poses panels')
    p.add_argument('--out-ext', default=None,
                   help='write images in this format (e.g. png: lossless, background bit-identical)')
    p.set_defaults(func=cmd_anonymize)

    p = sub.add_parser('recover', help='recover the people of anonymized images/videos (G_Y)')
    model_args(p)
    p.add_argument('--portraits', help=f'portrait sidecar (default: {PORTRAITS} in the input folder)')
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser('keygen', help='write a new random 256-bit key file for key-locked models')
    p.add_argument('key_file', help='key file to create (never overwritten)')
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser('export-camera', help='checkpoint without recovery/discriminator weights')
    p.add_argument('checkpoint', help='full ReCanon checkpoint')
    p.add_argument('out', help='camera checkpoint to write')
    p.set_defaults(func=cmd_export_camera)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``mmrecanon`` console script; returns the exit code."""
    with warnings.catch_warnings():
        if not _debug():
            warnings.simplefilter('ignore')  # library deprecation noise; MMRECANON_DEBUG=1 shows it
        try:
            import mmrecanon  # noqa: F401  (registries, torch compatibility shims)
            args = build_parser().parse_args(argv)
            return args.func(args)
        except (CLIError, ValueError, OSError) as e:
            if _debug():
                raise
            print(f'error: {_one_line(e)}', file=sys.stderr, flush=True)
            return 2
        except KeyboardInterrupt:
            print('\ninterrupted: run the same command again to resume', file=sys.stderr, flush=True)
            return 130


if __name__ == '__main__':
    sys.exit(main())
