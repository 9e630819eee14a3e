"""``mmrecanon`` command line: anonymize / recover images, folders and videos; export a camera checkpoint.

    mmrecanon anonymize -i IN -o OUT --config CFG --checkpoint CKPT [--boxes BOXES.json]
                        [--det-config C --det-checkpoint K] [--score-thr 0.3] [--vis] [--device cpu]
                        [--key-file KEYFILE] [--if-nobody {desensitize,skip,keep}]
    mmrecanon recover   -i IN -o OUT --config CFG --checkpoint CKPT [--portraits portraits.json]
                        [--key-file KEYFILE]
    mmrecanon keygen KEYFILE                      (key-locked models: anonymize/recover --key-file KEYFILE)
    mmrecanon export-camera CKPT OUT.pth [--force]

IN is an image, a video (.mp4/.avi/.mov) or a folder, searched recursively (hidden entries and OUT
itself are skipped); OUT is a folder that mirrors IN's relative names.  See README.md, section
"Command line: anonymize / recover", for the files written, the portrait sidecar and resuming.

Fail closed: an image (or video frame) in which nobody is found is never written as it is unless
``--if-nobody keep`` says so; the default ``desensitize`` writes A(x) of the whole frame instead.

Exit codes: 0 everything done (and someone found in every image / frame, or ``--if-nobody keep``),
1 some input files or sidecar entries were skipped (one line each on stderr), 2 a usage error (one line
on stderr, no traceback, nothing written), 3 nobody was found in some image / frame (its output is the
whole frame desensitized, or absent with ``--if-nobody skip``), 130 interrupted (run the same command
again to resume).  1 wins over 3.  ``MMRECANON_DEBUG=1`` shows warnings and re-raises per-file errors
with their traceback.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import warnings
from typing import Dict, List, Optional, Tuple

# Only light modules before the arguments are parsed (``--help``, ``keygen`` and argument errors never
# import torch, MMEngine or OpenCV); the model stack is imported by the commands that need it.
from .io import video
from .io.config import CfgOptionsAction, load_config, parse_cfg_options
from .io.poses import MATCH_IOU, pose_entries
from .io.sidecar import (PORTRAITS, POSES, RECOVERED, RecoverRecord, Sidecars, boxes_digest, bytes_digest,
                         check_anonymized, config_digest, load_portraits, read_json, remove_stale_tmp, sha256_file,
                         unsafe_name, value_digest, write_bytes)

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov')
VIS_DIR = 'vis'
JPEG_QUALITY = 95  # JPEG outputs: high quality (JPEG re-encodes the whole frame, see README)
CAMERA_DROP = ('recoverer.', 'disc_enhanced.', 'disc_recovered.')
# What to write for an image / video frame in which nobody was found (--if-nobody); the first is the default.
IF_NOBODY = ('desensitize', 'skip', 'keep')
# Person-box coordinates beyond this (pixels from the origin) are refused as out of range.
MAX_COORD = 1e6
EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_NOBODY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


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
def _write_image(path: str, img) -> str:
    """Encode and write atomically (temporary file + rename): a file that exists is complete.  Returns the
    sha256 of the bytes written."""
    import cv2
    ext = osp.splitext(path)[1].lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext in ('.jpg', '.jpeg') else []
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise OSError(f'cannot encode {ext} image for {path}')
    write_bytes(path, buf.tofile)
    return bytes_digest(buf.tobytes())


def _check_writable(out: str) -> None:
    """OUT (or the folder it will be created in) must be writable: checked before any model is loaded."""
    probe = out
    while not osp.exists(probe) and osp.dirname(probe) != probe:
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise CLIError(f'cannot create the output folder {out}: {probe} is not a folder')
    try:
        fd, tmp = tempfile.mkstemp(prefix='.mmrecanon-write-check-', dir=probe)
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        raise CLIError(f'output folder {out} is not writable ({e.strerror or e} in {probe})') from None


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
    """Person boxes [[x1, y1, x2, y2], ...] → (N, 4) float32.

    Inverted boxes (x2 < x1 or y2 < y1) get their corners swapped, with a warning; boxes without area,
    NaN and coordinates beyond ±MAX_COORD are refused (a usage error: a person must never be dropped
    silently).
    """
    import numpy as np
    if not isinstance(value, list) or not all(isinstance(b, list) and len(b) == 4 and
                                              all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in b) for b in value):
        raise CLIError(f'{where}: expected a list of [x1, y1, x2, y2] boxes')
    boxes = []
    for i, box in enumerate(value):
        for v in box:
            if v != v:
                raise CLIError(f'{where}: box {i} has a NaN coordinate')
            if not -MAX_COORD <= v <= MAX_COORD:
                raise CLIError(f'{where}: box {i}: coordinate {json.dumps(v)[:24]} is out of range '
                               f'(at most {MAX_COORD:.0f} px from the origin)')
        x1, y1, x2, y2 = (float(v) for v in box)
        if x1 == x2 or y1 == y2:
            raise CLIError(f'{where}: box {i} {box} has no area (x1 = x2 or y1 = y2); give the person\'s '
                           'full extent')
        if x2 < x1 or y2 < y1:
            _warn(f'warning: {where}: box {i} {box} is inverted (x2 < x1 or y2 < y1): corners swapped')
            x1, x2 = min(x1, x2), max(x1, x2)
            y1, y2 = min(y1, y2), max(y1, y2)
        boxes.append([x1, y1, x2, y2])
    return np.asarray(boxes, np.float32).reshape(-1, 4)


class BoxSpec:
    """Person boxes given with ``--boxes`` (xyxy, image pixels).  Accepted JSON:

    * ``[[x1, y1, x2, y2], ...]``: the same boxes for every image and every video frame;
    * ``{"name": [[x1, y1, x2, y2], ...], ...}``: per input file (its name relative to IN, or its file
      name), for a video the boxes of every frame;
    * ``{"clip.mp4": {"0": [[...]], "7": [[...]]}}``: per video frame (0-based index).
    ``[]`` means "nobody here" (``--if-nobody`` applies).  Images/frames not listed are detected
    (detector or bottom-up P).  Every name must match an input (:meth:`check`).
    """

    def __init__(self, path: str):
        data = read_json(path, 'boxes file')
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

    def check(self, jobs: List['Job'], folder: str) -> None:
        """Every name must stay inside ``folder`` (-i) and match an input; per-frame boxes only for videos."""
        for name, value in self.per_file.items():
            reason = unsafe_name(name, folder)
            if reason is not None and 'symbolic link' not in reason:  # boxes names are matched, never opened
                raise CLIError(f'{self.path}: the entry {name!r} {reason}')
            matches = [j for j in jobs if j.rel == name or osp.basename(j.rel) == name]
            if not matches:
                raise CLIError(f'{self.path}: the entry {name!r} matches no input in {folder} (names are '
                               'relative to -i, or file names); its person would not be anonymized')
            images = [j.rel for j in matches if j.kind == 'image']
            if isinstance(value, dict) and images:
                raise CLIError(f'{self.path}: the entry {name!r} gives per-frame boxes, but {images[0]} is an image')

    def entry(self, rel: str):
        if rel in self.per_file:
            return self.per_file[rel]
        return self.per_file.get(osp.basename(rel), self.default)

    def get(self, rel: str, frame: Optional[int] = None):
        """Boxes for an image (``frame=None``) or a video frame; None when not given."""
        entry = self.entry(rel)
        if isinstance(entry, dict):
            return entry.get(frame) if frame is not None else None
        return entry

    def source(self, rel: str) -> Optional[str]:
        """Digest of the boxes given for ``rel`` (None: none given, people are detected)."""
        entry = self.entry(rel)
        if entry is None:
            return None
        if isinstance(entry, dict):
            return value_digest({str(k): v.tolist() for k, v in sorted(entry.items())})
        return value_digest(entry.tolist())


# ------------------------------------------------------------------------------------------ anonymize
def _panel(model, original, enhanced, poses):
    from .visualization import draw_panel
    view = 'enhanced' if model.has_generators else 'conventional'
    frames = {'original': original, view: enhanced, 'poses': enhanced}
    return draw_panel(frames, {'poses': poses}, model.dataset_meta, views=('original', view, 'poses'))


class Anonymizer:
    """Anonymizes one job at a time; ``results`` holds (people, nobody) per output name for the summary."""

    def __init__(self, model, args, spec: Optional[BoxSpec], sidecars: Sidecars, key: Optional[bytes] = None):
        self.model, self.args, self.spec, self.sidecars, self.key = model, args, spec, sidecars, key
        self.policy = args.if_nobody
        self.results: Dict[str, Tuple[int, bool]] = {}
        self.base = dict(checkpoint=sha256_file(args.checkpoint), config=config_digest(model.cfg),
                         score_thr=args.score_thr, if_nobody=self.policy)
        if key is not None:
            from .models.utils.keylock import check_value
            self.base['key_check'] = check_value(key)
        det = getattr(model, 'detector', None)
        self.detect = 'pose-model' if det is None else dict(
            config=config_digest(det.cfg), checkpoint=sha256_file(args.det_checkpoint))
        self._fp: Dict[str, dict] = {}
        self.bottomup = model.pose.pose_mode != 'topdown'

    def produced_by(self, job: Job) -> dict:
        """What this run would produce ``job`` from (compared with the sidecar entry to resume)."""
        if job.out_rel not in self._fp:
            fp = dict(self.base)
            given = self.spec.source(job.rel) if self.spec is not None else None
            entry = self.spec.entry(job.rel) if self.spec is not None else None
            people = {} if given is None else {'boxes': given}
            if entry is None or isinstance(entry, dict):  # some or all frames are detected
                people['detect'] = self.detect
            fp['people'] = people
            if job.kind == 'video':
                fp['fourcc'] = self.args.fourcc or video.default_fourcc(job.out)
            self._fp[job.out_rel] = fp
        return self._fp[job.out_rel]

    def done(self, job: Job) -> bool:
        done, why = self.sidecars.status(job, self.produced_by(job))
        if why:
            print(why, flush=True)
        return done

    def _boxes(self, rel: str, frame: Optional[int] = None):
        return self.spec.get(rel, frame) if self.spec is not None else None

    def _anonymize(self, frame, given):
        """anonymize_image, plus how many given boxes were dropped (outside the frame)."""
        from .apis import anonymize_image
        res = anonymize_image(self.model, frame, given, self.args.score_thr, self.key)
        return res, 0 if given is None else len(given) - len(res['person_boxes'])

    def _poses(self, res, given, name: str, frame: Optional[int] = None) -> Tuple[list, int]:
        """poses.json entries: with given boxes one per box (a bottom-up P's detections matched to them, see
        mmrecanon.io.poses), and how many of P's detections match no given box."""
        return pose_entries(res['poses'], name, frame, None if given is None else res['person_boxes'],
                            self.bottomup)

    @staticmethod
    def _unmatched_warning(rel: str, unmatched: int, frames: int = 0) -> None:
        if unmatched:
            where = f' in {frames} frame(s)' if frames else ''
            _warn(f'warning: {rel}: P found {unmatched} person(s){where} that match no given box (IoU < {MATCH_IOU}): '
                  'not anonymized unless a given box covers them; check --boxes')

    def image(self, job: Job) -> None:
        from .apis import read_image
        from .apis.inference import desensitize_frame
        img = read_image(job.src)
        given = self._boxes(job.rel)
        res, dropped = self._anonymize(img, given)
        if dropped:
            _warn(f'warning: {job.rel}: {dropped} given box(es) lie outside the {img.shape[1]}×{img.shape[0]} '
                  'image: ignored')
        people = len(res['boxes'])
        for p in job.outputs():
            remove_stale_tmp(p)
        entry = dict(type='image', source=job.rel, height=img.shape[0], width=img.shape[1], boxes=res['boxes'],
                     people=people)
        enhanced = res['enhanced']
        if people == 0:
            if self.policy == 'skip':
                self.sidecars.remove(job)  # an earlier run's output of this file must not stay
                self.results[job.out_rel] = (0, True)
                _warn(f'warning: {job.rel}: nobody found: no output written (--if-nobody skip)')
                return
            if self.policy == 'desensitize':
                enhanced = desensitize_frame(self.model, img)
                entry['nobody'] = 'desensitized'
            else:
                entry['nobody'] = 'kept'
        if 'nonces' in res:
            entry['nonces'] = res['nonces']
        entry['produced_by'] = self.produced_by(job)
        poses, unmatched = self._poses(res, given, job.out_rel)
        entry['output_sha256'] = _write_image(job.out, enhanced)
        entry['boxes_sha256'] = boxes_digest(entry)
        if job.vis:
            _write_image(job.vis, _panel(self.model, img, enhanced, res['poses']))
        self.sidecars.add(job, entry, poses)
        self.results[job.out_rel] = (people, people == 0)
        self._unmatched_warning(job.rel, unmatched)
        if people:
            print(f'{job.rel}: {people} {"person" if people == 1 else "people"} anonymized{_no_pose(poses)}',
                  flush=True)
        elif self.policy == 'desensitize':
            _warn(f'warning: {job.rel}: nobody found: wrote the whole image desensitized with A(x) '
                  '(--if-nobody desensitize)')
        else:
            _warn(f'warning: {job.rel}: nobody found: wrote the ORIGINAL image unchanged (--if-nobody keep)')

    def video(self, job: Job, bar=None) -> None:
        from .apis.inference import InputError, desensitize_frame
        cap, size, fps, header = video.open_video(job.src)
        for p in job.outputs():
            remove_stale_tmp(p)
        outs = []
        try:
            outs.append(video.VideoOut(job.out, fps, size, self.args.fourcc))
            if job.vis:
                outs.append(video.VideoOut(job.vis, fps, (3 * size[0], size[1]), 'mp4v'))
            frames, nonces, poses, nobody, dropped, unmatched = [], [], [], [], 0, []
            for idx, frame in video.frames(cap, size):
                given = self._boxes(job.rel, idx)
                res, lost = self._anonymize(frame, given)
                dropped += bool(lost)
                enhanced = res['enhanced']
                if not res['boxes']:
                    nobody.append(idx)
                    if self.policy != 'keep':  # 'skip' too: a video frame cannot be dropped
                        enhanced = desensitize_frame(self.model, frame)
                outs[0].write(enhanced)
                if job.vis:
                    outs[1].write(_panel(self.model, frame, enhanced, res['poses']))
                frames.append(res['boxes'])
                nonces.append(res.get('nonces'))
                entries, extra = self._poses(res, given, job.out_rel, idx)
                poses.extend(entries)
                unmatched.append(extra)
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
        people = sum(len(b) for b in frames)
        entry = dict(type='video', source=job.rel, height=size[1], width=size[0], fps=fps, frames=frames,
                     people=people, header_frames=header)
        if nobody:
            entry.update(nobody='kept' if self.policy == 'keep' else 'desensitized', nobody_frames=nobody)
        if self.key is not None:
            entry['frame_nonces'] = nonces
        entry['produced_by'] = self.produced_by(job)
        entry['output_sha256'] = sha256_file(job.out)
        entry['boxes_sha256'] = boxes_digest(entry)
        self.sidecars.add(job, entry, poses)
        self.results[job.out_rel] = (people, bool(nobody))
        mismatch = video.frame_count_warning(job.rel, len(frames), header)
        if mismatch:
            _warn(mismatch)
        self._unmatched_warning(job.rel, sum(unmatched), sum(n > 0 for n in unmatched))
        if dropped:
            _warn(f'warning: {job.rel}: in {dropped} frame(s) given boxes lie outside the {size[0]}×{size[1]} '
                  'frame: ignored')
        print(f'{job.rel}: {len(frames)} frames, {people} people anonymized (summed over frames){_no_pose(poses)}',
              flush=True)
        if nobody:
            shown = ', '.join(map(str, nobody[:10])) + (', ...' if len(nobody) > 10 else '')
            what = ('written unchanged (--if-nobody keep)' if self.policy == 'keep' else
                    f'desensitized whole with A(x) (--if-nobody {self.policy}; video frames are never dropped)')
            _warn(f'warning: {job.rel}: nobody found in {len(nobody)} of {len(frames)} frames ({shown}): {what}')


def _no_pose(poses: list) -> str:
    """', P found no pose for N of them' when given boxes got ``"keypoints": null`` in poses.json."""
    n = sum(p.get('keypoints', ()) is None for p in poses)
    return f'; P found no pose for {n} of them ("keypoints": null in {POSES})' if n else ''


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
        bar = _progress(video.frame_count(todo[0].src), progress)
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


def _load_stack() -> None:
    """torch, MMEngine, MMPose, the registries and the torch compatibility shims (``mmrecanon.load()``)."""
    import mmrecanon
    mmrecanon.load()


def _load_model(args):
    for flag, path in (('--config', args.config), ('--checkpoint', args.checkpoint)):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{flag} file not found: {path}')
    _load_stack()
    load_config(args.config, args.cfg_options)  # a broken config / --cfg-options: one line, not a traceback
    from .apis import init_recanon
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
    if spec is not None:
        spec.check(jobs, src if osp.isdir(src) else osp.dirname(src))
    _check_writable(out)

    key = _read_key(args)
    model = _load_model(args)
    from .apis.inference import check_key_use
    check_key_use(model, key, 'anonymizing')
    if spec is None and model.pose.pose_mode == 'topdown' and model.detector is None:
        raise CLIError('the pose model of this config is top-down and cannot find people by itself: pass '
                       'person boxes (--boxes BOXES.json) or a detector (--det-config/--det-checkpoint)')
    info = dict(
        note='Portrait boxes [x1, y1, x2, y2] (image pixels) that were privacy-enhanced, per image / per '
             'video frame. "mmrecanon recover" needs them. Not secret: they only say where people are.',
        config=osp.basename(args.config), method=model.method, portrait_size=model.portrait_size,
        portrait_margin=model.portrait_margin)
    if key is not None:
        from .models.utils.keylock import check_value
        info.update(key_check=check_value(key), key_note='Key-locked: recovery needs the key file. nonces are '
                    'public per-portrait values; key_check only tells whether a key is the right one.')
    sidecars = Sidecars(out, info, warn=_warn)  # refuses another key's folder before anything is written
    os.makedirs(out, exist_ok=True)
    worker = Anonymizer(model, args, spec, sidecars, key)

    def process(job, bar):
        worker.image(job) if job.kind == 'image' else worker.video(job, bar)

    ok, finished, failed = _run_jobs(jobs, worker.done, process, not args.no_progress)
    people = nobody = files_done = not_written = 0
    for job in jobs:
        if job.out_rel in worker.results:
            n, none = worker.results[job.out_rel]
            not_written += none and job.kind == 'image' and args.if_nobody == 'skip'
        elif sidecars.status(job, worker.produced_by(job))[0]:  # already done: its sidecar entry
            entry = sidecars.files[job.out_rel]
            n, none = int(entry.get('people', 0)), 'nobody' in entry
        else:  # unreadable
            continue
        files_done += 1
        people += n
        nobody += none
    print(f'anonymized {ok - not_written} file(s), {finished} already done, {failed} skipped -> {out} '
          f'({PORTRAITS} holds the portrait boxes recovery needs)', flush=True)
    action = {'desensitize': 'whole frame desensitized', 'keep': 'written unchanged',
              'skip': 'images not written, video frames desensitized'}[args.if_nobody]
    print(f'summary: {files_done} file(s), {people} people anonymized, {nobody} file(s) with nobody found'
          + (f' ({action}, --if-nobody {args.if_nobody})' if nobody else ''), flush=True)
    if failed:
        return EXIT_SKIPPED
    return EXIT_NOBODY if nobody and args.if_nobody != 'keep' else EXIT_OK


# ------------------------------------------------------------------------------------------ recover
def cmd_recover(args) -> int:
    src, out = _resolve_io(args)
    _check_writable(out)
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
    refused = 0
    if osp.isdir(src):
        names = []
        for name in sorted(entries):  # names from the sidecar: read under -i and written under -o only
            reason = unsafe_name(name, src)
            if reason is None:
                reason = unsafe_name(name, out)
            if reason is not None:
                refused += 1
                _warn(f'skipping the entry {name!r} of {sidecar}: the name {reason}; nothing read or written')
                continue
            names.append(name)
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
    _check_paths(jobs, inputs + [sidecar], [osp.join(out, RECOVERED)])
    record = RecoverRecord(out)
    os.makedirs(out, exist_ok=True)
    whole = []  # images desensitized whole when nobody was found: nothing to recover
    base = dict(checkpoint=sha256_file(args.checkpoint), config=config_digest(model.cfg))
    if 'key_check' in header:
        base['key_check'] = header['key_check']

    def produced_by(job) -> dict:
        entry = entries[job.rel]
        fp = dict(base, input=sha256_file(job.src) if osp.isfile(job.src) else None,
                  boxes=boxes_digest(entry) if isinstance(entry, dict) else None)
        if job.kind == 'video':
            fp['fourcc'] = args.fourcc or video.default_fourcc(job.out)
        return fp

    def done(job) -> bool:
        finished, why = record.status(job, produced_by(job))
        if why:
            print(why, flush=True)
        return finished

    def process(job, bar):
        from .apis.inference import InputError
        entry = entries[job.rel]
        if not isinstance(entry, dict):
            raise InputError('its portrait sidecar entry is not an object')
        if entry.get('nobody') == 'desensitized' and job.kind == 'image':
            whole.append(job)
            print(f'{job.rel}: not recovered: nobody was found when it was anonymized and the whole image was '
                  'desensitized with A(x), which G_Y cannot undo; no output written', flush=True)
            return
        if not osp.isfile(job.src):
            raise InputError('file listed in the portrait sidecar not found')
        reason = check_anonymized(entry, job.src)
        if reason == 'unverified':
            _warn(f'warning: {job.rel}: its sidecar entry has no digests (written by an older mmrecanon): cannot '
                  'check that the file and its boxes are the ones anonymize wrote')
        elif reason is not None:
            raise InputError(reason)
        remove_stale_tmp(job.out)
        if job.kind == 'image':
            from .apis import read_image, recover_image
            img = read_image(job.src)
            _check_size(entry, img.shape[1], img.shape[0])
            _write_image(job.out, recover_image(model, img, entry.get('boxes', []), key, entry.get('nonces')))
        else:
            _recover_video(model, job, entry, args.fourcc, bar, key)
            if entry.get('nobody') == 'desensitized':
                print(f'{job.rel}: {len(entry.get("nobody_frames", []))} frame(s) were desensitized whole when '
                      'nobody was found: left as they are (A(x) cannot be undone)', flush=True)
        record.add(job, produced_by(job))

    ok, finished, failed = _run_jobs(jobs, done, process, not args.no_progress)
    print(f'recovered {ok - len(whole)} file(s), {finished} already done, {len(whole)} not recoverable (whole '
          f'image desensitized, not written), {failed + refused} skipped -> {out}', flush=True)
    return EXIT_SKIPPED if failed or refused else EXIT_OK


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
    cap, size, fps, _ = video.open_video(job.src)
    _check_size(entry, *size)
    out = None
    try:
        out = video.VideoOut(job.out, fps, size, fourcc)
        n = 0
        for idx, frame in video.frames(cap, size):
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
    _load_stack()
    from .models.utils.keylock import read_key_file
    return read_key_file(args.key_file)


def cmd_keygen(args) -> int:
    from .io.keyfile import check_value, generate_key, write_key_file  # no torch: answers at once
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
    src, dst = osp.abspath(args.checkpoint), osp.abspath(args.out)
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
    if osp.realpath(dst) == osp.realpath(src):
        raise CLIError('the camera checkpoint must not overwrite the full checkpoint; choose another OUT path')
    if osp.isdir(dst):
        raise CLIError(f'{args.out} is a folder; give the file name of the camera checkpoint')
    if osp.lexists(dst) and not args.force:
        raise CLIError(f'{args.out} exists and is not replaced (it may be the only copy of a G_Y); choose another '
                       'OUT or pass --force')
    _load_stack()  # torch >= 2.6 checkpoint loading shim
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint
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
    write_bytes(dst, lambda tmp: torch.save({'state_dict': keep, 'meta': meta}, tmp))  # temporary file + rename
    dropped = len(sd) - len(keep)
    print(f'wrote {args.out}: {len(keep)} tensors (G_X, P); removed {dropped} recoverer/discriminator tensors'
          f'{" and the optimizer state" if "optimizer" in ckpt else ""}', flush=True)
    return 0


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
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
        p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction, default=None, metavar='KEY=VALUE',
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
    p.add_argument('--if-nobody', choices=IF_NOBODY, default=IF_NOBODY[0],
                   help='an image / video frame in which nobody is found (or given []): desensitize = write '
                        'A(x) of the whole frame (default, fail closed); skip = write no output for the image '
                        '(video frames: desensitize); keep = write it unchanged (exit code 0 instead of 3)')
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
    p.add_argument('out', help='camera checkpoint to write (an existing file is refused unless --force)')
    p.add_argument('--force', action='store_true', help='replace an existing OUT (atomically)')
    p.set_defaults(func=cmd_export_camera)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``mmrecanon`` console script; returns the exit code.

    Arguments are parsed and the cheap checks (files, folders, boxes) done before anything heavy is
    imported: torch, MMEngine and MMPose are loaded (:func:`_load_stack`) only when a model or checkpoint is
    about to be read.
    """
    video.quiet_decoders(_debug())  # before OpenCV opens a video: FFmpeg's noise stays off the terminal
    with warnings.catch_warnings():
        if not _debug():
            warnings.simplefilter('ignore')  # library deprecation noise; MMRECANON_DEBUG=1 shows it
        try:
            args = build_parser().parse_args(argv)
            if getattr(args, 'cfg_options', None) is not None:
                args.cfg_options = parse_cfg_options(args.cfg_options)
            return args.func(args)
        except (CLIError, ValueError, OSError) as e:
            if _debug():
                raise
            print(f'error: {_one_line(e)}', file=sys.stderr, flush=True)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print('\ninterrupted: run the same command again to resume', file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED


if __name__ == '__main__':
    sys.exit(main())
