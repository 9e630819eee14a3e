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
import os
import os.path as osp
import sys
import warnings
from collections import Counter
from typing import List, Optional

# Only light modules before the arguments are parsed (``--help``, ``keygen`` and argument errors never
# import torch, MMEngine or OpenCV); the model stack is imported by the commands that need it.
from .io import video
from .io.boxes import BoxSpec
from .io.checkpoint import check_export_paths, export_camera
from .io.config import CfgOptionsAction, load_config, parse_cfg_options
from .io.jobs import (IF_NOBODY, IMAGE_EXTS, RECOVERABLE_IMAGE_EXT, anonymize_jobs, check_paths, check_renamed,
                      check_writable, debug, lossy_outputs)
from .io.jobs import UsageError as CLIError
from .io.jobs import one_line, resolve_io, run_jobs, warn
from .io.sidecar import PORTRAITS, POSES, RECOVERED, RecoverRecord, Sidecars, load_portraits

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_NOBODY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise CLIError(f'{self.prog}: {message}')


def _load_cfg(args):
    """The stack (torch, MMEngine, MMPose, the registries) and the --config with --cfg-options merged, with
    one-line errors for missing files and broken configs, before any weights are read."""
    for flag, path in (('--config', args.config), ('--checkpoint', args.checkpoint),
                       ('--pose-checkpoint', getattr(args, 'pose_checkpoint', None))):
        if path is not None and not osp.isfile(path):
            raise FileNotFoundError(f'{flag} file not found: {path}')
    import mmrecanon
    mmrecanon.load()  # torch, MMEngine, MMPose, the registries and the torch compatibility shims
    return load_config(args.config, args.cfg_options)  # a broken config / --cfg-options: one line


def _load_model(args, with_pose: bool = True, cfg=None):
    """The ReCanon of --config/--checkpoint (and the detector), with one-line errors. ``with_pose=False``:
    recovery, which never runs P, so the checkpoint need not hold it (the shipped G_X/G_Y asset has none).
    ``cfg``: what :func:`_load_cfg` returned, when the caller has it already (the config is read once)."""
    if cfg is None:
        cfg = _load_cfg(args)
    import torch

    from .apis import init_recanon
    device = args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise CLIError(f'--device {device}: no CUDA device available')
    return init_recanon(cfg, args.checkpoint, device=device,
                        det_config=getattr(args, 'det_config', None),
                        det_checkpoint=getattr(args, 'det_checkpoint', None),
                        pose_checkpoint=getattr(args, 'pose_checkpoint', None), with_pose=with_pose)


def _read_key(args) -> Optional[bytes]:
    from .io.keyfile import read_key_file
    return None if getattr(args, 'key_file', None) is None else read_key_file(args.key_file)


def cmd_anonymize(args) -> int:
    src, out = resolve_io(args.input, args.output)
    if (args.det_config is None) != (args.det_checkpoint is None):
        raise CLIError('--det-config and --det-checkpoint go together')
    if args.out_ext is not None and not args.out_ext.lower().lstrip('.') in [e[1:] for e in IMAGE_EXTS]:
        raise CLIError(f'--out-ext must be one of {", ".join(IMAGE_EXTS)}, got {args.out_ext}')
    spec = BoxSpec(args.boxes) if args.boxes else None
    cfg = _load_cfg(args)
    from .apis.inference import recanon_model_cfg
    from .models.recanon import ReCanon
    # y' is to be recovered: keep what G_Y decodes, JPEG inputs become PNG (io/jobs.py); read from the config,
    # so that the job list is built once and checked before any weights are read
    recoverable = ReCanon.config_has_generators(recanon_model_cfg(cfg, args.config))
    jobs, inputs = anonymize_jobs(src, out, args.out_ext, args.vis, recoverable=recoverable)
    renamed = {j.out_rel for j in jobs if j.out_rel != j.rel} if args.out_ext is None else set()
    try:
        check_paths(jobs, inputs, [osp.join(out, PORTRAITS), osp.join(out, POSES)])
    except CLIError as e:  # e.g. a.jpg and a.png side by side
        outs = Counter(j.out_rel for j in jobs)
        if not any(outs[o] > 1 for o in renamed):  # not a clash the renaming made
            raise
        raise CLIError(f'{e} (this model writes JPEG inputs as PNG to keep them recoverable; '
                       '--out-ext chooses one format for all images)') from None
    if spec is not None:
        spec.check(jobs, src if osp.isdir(src) else osp.dirname(src))
    check_writable(out)

    from .apis import Anonymizer
    key = _read_key(args)  # a bad key file: one line before the model loads
    anonymizer = Anonymizer(_load_model(args, cfg=cfg), key, args.score_thr)  # the key checks, once
    if spec is None and anonymizer.model.pose.pose_mode == 'topdown' and anonymizer.detector is None:
        raise CLIError('the pose model of this config is top-down and cannot find people by itself: pass '
                       'person boxes (--boxes BOXES.json) or a detector (--det-config/--det-checkpoint)')
    from .apis.batch import FileAnonymizer
    # refuses another key's folder before anything is written
    sidecars = Sidecars(out, FileAnonymizer.sidecar_header(anonymizer, args.config), warn=warn)
    check_renamed(jobs, sidecars.files, out)
    if recoverable:
        if renamed:
            warn(f'note: JPEG inputs are written as {RECOVERABLE_IMAGE_EXT[1:].upper()}: recovery needs the '
                 "exact y', which JPEG would destroy (--out-ext jpg forces JPEG)")
        lossy = lossy_outputs(jobs, args.fourcc)
        if lossy:
            warn(f'warning: {len(lossy)} output(s) in a lossy format (e.g. {osp.basename(lossy[0])}): the people '
                 "in them cannot be recovered (recovery needs the exact y'); for recoverable outputs use "
                 '--out-ext png (images) and --fourcc FFV1 or .avi (videos)')
    os.makedirs(out, exist_ok=True)
    worker = FileAnonymizer(anonymizer, sidecars, spec, args.checkpoint, args.det_checkpoint, args.if_nobody,
                            args.fourcc, not args.per_frame, args.pose_checkpoint)

    def process(job, bar):
        worker.image(job) if job.kind == 'image' else worker.video(job, bar)

    ok, finished, failed = run_jobs(jobs, worker.done, process, not args.no_progress)
    files_done, people, nobody, not_written = worker.summary(jobs)
    print(f'anonymized {ok - not_written} file(s), {finished} already done, {failed} skipped -> {out} '
          f'({PORTRAITS} holds the portrait boxes recovery needs)', flush=True)
    action = {'desensitize': 'whole frame desensitized', 'keep': 'written unchanged',
              'skip': 'images not written, video frames desensitized'}[args.if_nobody]
    print(f'summary: {files_done} file(s), {people} people anonymized, {nobody} file(s) with nobody found'
          + (f' ({action}, --if-nobody {args.if_nobody})' if nobody else ''), flush=True)
    if failed:
        return EXIT_SKIPPED
    return EXIT_NOBODY if nobody and args.if_nobody != 'keep' else EXIT_OK


def cmd_recover(args) -> int:
    src, out = resolve_io(args.input, args.output)
    check_writable(out)
    base = src if osp.isdir(src) else osp.dirname(src)
    sidecar = osp.abspath(args.portraits) if args.portraits else osp.join(base, PORTRAITS)

    model = _load_model(args, with_pose=False)
    key = _read_key(args)
    entries, header = load_portraits(sidecar, with_header=True)
    if key is None and 'key_check' in header:
        raise CLIError(f'{sidecar}: these portraits are key-locked; recover them with their key-locked model and '
                       '--key-file')
    from .apis import Anonymizer
    anonymizer = Anonymizer(model, key, purpose='recovery')  # G_Y's weights and the key checks, once
    if key is not None:
        if 'key_check' not in header:
            raise CLIError(f'{sidecar} was written without a key: these portraits are not key-locked')
        anonymizer.verify(header['key_check'])
    from .apis.batch import FileRecoverer
    jobs, refused = FileRecoverer.jobs(src, out, sidecar, entries)
    check_paths(jobs, [j.src for j in jobs] + [sidecar], [osp.join(out, RECOVERED)])
    record = RecoverRecord(out)
    os.makedirs(out, exist_ok=True)
    worker = FileRecoverer(anonymizer, entries, record, args.checkpoint, header.get('key_check'), args.fourcc)
    ok, finished, failed = run_jobs(jobs, worker.done, worker.process, not args.no_progress)
    print(f'recovered {ok - len(worker.whole)} file(s), {finished} already done, {len(worker.whole)} not '
          f'recoverable (whole image desensitized, not written), {failed + refused} skipped -> {out}', flush=True)
    return EXIT_SKIPPED if failed or refused else EXIT_OK


def cmd_keygen(args) -> int:
    from .io.keyfile import create_key_file  # no torch: answers at once
    print(create_key_file(args.key_file), flush=True)
    return 0


def cmd_export_camera(args) -> int:
    """Checkpoint for the camera side: G_X and P only (no G_Y, no discriminators, no optimizer state)."""
    check_export_paths(args.checkpoint, args.out, args.force)
    import mmrecanon
    mmrecanon.load()  # torch >= 2.6 checkpoint loading shim
    kept, dropped, optimizer = export_camera(osp.abspath(args.checkpoint), osp.abspath(args.out))
    print(f'wrote {args.out}: {kept} tensors (G_X, P); removed {dropped} recoverer/discriminator tensors'
          f'{" and the optimizer state" if optimizer else ""}', flush=True)
    return 0


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog='mmrecanon', description='Reversible privacy-preserving pose estimation: anonymize '
                     'people in images/videos (G_X), recover them (G_Y), export camera checkpoints.')
    sub = parser.add_subparsers(dest='command', metavar='{anonymize,recover,keygen,export-camera}')
    sub.required = True

    def model_args(p):
        p.add_argument('-i', '--input', required=True, help='image, video (.mp4/.avi/.mov) or folder (recursive)')
        p.add_argument('-o', '--output', required=True,
                       help='output folder (mirrors the input names; a model with G_X writes JPEG inputs as PNG)')
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
    p.add_argument('--pose-checkpoint', help="P's weights from their own file (converter output; AGPL-3.0)")
    p.add_argument('--score-thr', type=float, default=0.3, help='person detection / pose score threshold')
    p.add_argument('--vis', action='store_true', help='also write original | privacy-enhanced | poses panels')
    p.add_argument('--per-frame', action='store_true', help='videos: each frame on its own (no held boxes/tiles)')
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
    imported: torch, MMEngine and MMPose are loaded (``mmrecanon.load()``) only when a model or checkpoint is
    about to be read.
    """
    video.quiet_decoders(debug())  # before OpenCV opens a video: FFmpeg's noise stays off the terminal
    with warnings.catch_warnings():
        if not debug():
            warnings.simplefilter('ignore')  # library deprecation noise; MMRECANON_DEBUG=1 shows it
        try:
            args = build_parser().parse_args(argv)
            if getattr(args, 'cfg_options', None) is not None:
                args.cfg_options = parse_cfg_options(args.cfg_options)
            return args.func(args)
        except (CLIError, ValueError, OSError) as e:
            if debug():
                raise
            print(f'error: {one_line(e)}', file=sys.stderr, flush=True)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print('\ninterrupted: run the same command again to resume', file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED


if __name__ == '__main__':
    sys.exit(main())
