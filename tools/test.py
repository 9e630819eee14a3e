"""Test a mmrecanon model and write the paper's tables.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
                         [--out-json FILE] [--method {ours,conventional}]

Runs MMEngine's ``Runner.test()`` (as MMPose's tools/test.py), prints the
Markdown tables and writes ``tables.md`` and ``tables.json`` (metrics, tables,
config, checkpoint, method, desensitizer, time) into the work dir.

Before anything is tested the checkpoint must fit the model of the config (strict): every weight of
the model must be in it with the same shape (except ``zeroshot_pose_estimator.*``, which comes from
its own pre-trained init, and the discriminators ``disc_*``, which testing does not use) and it may
hold no other weights.  Otherwise - e.g. another model's checkpoint, or a camera export
(``mmrecanon export-camera``) that lacks G_Y - one line ``error: ...`` and exit code 2, instead of
tables computed with random weights.  Broken configs and ``--cfg-options`` without ``=`` are one-line
errors too.

The row label comes from the checkpoint and the config: ``meta['recanon_method']``
('ours' / 'conventional'; ``--method`` overrides it; if absent: ``cfg.model.method``, else 'ours'
when the metrics contain a recovered view, else 'conventional') and
``cfg.model.desensitizer`` (e.g. ``dict(type='Desensitizer', kind='blur', radius=8)``).
"""
import argparse
import copy
import datetime
import inspect
import json
import math
import os
import os.path as osp
import sys
from typing import Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a mmrecanon model and write the tables')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for logs, tables.md and tables.json')
    parser.add_argument('--out-json', help='also write the tables.json content to this file')
    parser.add_argument('--pose-checkpoint',
                        help="P's weights from their own file (e.g. the YOLOv8 converter's output), replacing "
                             "the checkpoint's P: G_X/G_Y of one run tested with another P")
    parser.add_argument(
        '--method',
        choices=['ours', 'conventional'],
        help="row label; default: the checkpoint's meta['recanon_method']")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default={},
        metavar='KEY=VALUE',
        help='override config settings, e.g. test_dataloader.batch_size=1')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def fail(message: str) -> None:
    """One-line error and exit code 2 (bad command-line input)."""
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)


def import_mmrecanon():
    """Import mmrecanon (registries, compat shims) from this checkout."""
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    import importlib

    import mmrecanon
    compat = getattr(mmrecanon, 'compat', None)
    if compat is None:
        try:
            compat = importlib.import_module('mmrecanon.compat')
        except ImportError:
            compat = None
    if compat is not None and hasattr(compat, 'apply'):
        compat.apply()  # idempotent; needed to read MMEngine checkpoints with torch >= 2.6
    importlib.import_module('mmrecanon.evaluation')
    return mmrecanon


def read_checkpoint(path: str):
    """``(meta, state_dict)`` of an MMEngine checkpoint (meta empty if it has none)."""
    import torch
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    except Exception as e:  # noqa: BLE001 - report any unreadable file in one line
        fail(f'cannot read checkpoint {path}: {type(e).__name__}: {e}'.splitlines()[0])
    from mmrecanon.io.checkpoint import state_dict_of
    try:
        sd = state_dict_of(checkpoint)
    except ValueError:
        fail(f'{path} is not a model checkpoint (no state_dict of tensors in it)')
    meta = checkpoint.get('meta')
    return (meta if isinstance(meta, dict) else {}), sd


def checkpoint_mismatch(own: dict, sd: dict) -> list:
    """What keeps ``sd`` (checkpoint) from fitting ``own`` (the model's state_dict): [] when it fits.

    A checkpoint may lack the weights inference ignores: the zero-shot P comes from its own pre-trained
    init, and testing does not use the discriminators."""
    from mmrecanon.io.checkpoint import TRAINING_ONLY as OPTIONAL_PREFIXES
    missing = sorted(k for k in own if k not in sd and not k.startswith(OPTIONAL_PREFIXES))
    unexpected = sorted(k for k in sd if k not in own and not k.startswith(OPTIONAL_PREFIXES))
    shape = sorted(k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)
                   and not k.startswith(OPTIONAL_PREFIXES))
    return [f'{len(keys)} weights {what} (e.g. {keys[0]})'
            for what, keys in (('missing', missing), ('unexpected', unexpected), ('of another shape', shape))
            if keys]


def check_checkpoint(model, sd: dict, meta: dict, checkpoint: str, config: str) -> None:
    """One-line error (exit code 2) unless the checkpoint (``sd``) fits the (unwrapped) model strictly."""
    problems = checkpoint_mismatch(model.state_dict(), sd)
    if not problems:
        return
    hint = ''
    if meta.get('mmrecanon_camera_export'):
        hint = ('; it is a camera export (mmrecanon export-camera: no G_Y, no discriminators): test with the '
                'full checkpoint')
    fail(f'checkpoint {checkpoint} does not fit the model of {config}: {", ".join(problems)}{hint}; '
         'nothing was tested')


def load_zeroshot(model, sd: dict) -> None:
    """The zero-shot P from its own checkpoint when ``sd`` has none: the runner tests without
    ``init_weights``, so it would otherwise be tested with random weights."""
    if not any(k.startswith('zeroshot_pose_estimator.') for k in sd) and hasattr(model, 'load_zeroshot'):
        try:
            model.load_zeroshot()
        except FileNotFoundError as e:
            fail(str(e))


def with_pose(args, state_dict: dict, meta: dict):
    """The checkpoint with P replaced by ``--pose-checkpoint``'s, written into the work dir (the runner loads
    it from there): its path, meta and state dict."""
    import torch

    from mmrecanon.io.checkpoint import POSE, part
    if not osp.isfile(args.pose_checkpoint):
        fail(f'pose checkpoint file not found: {args.pose_checkpoint}')
    _, pose = read_checkpoint(args.pose_checkpoint)
    pose = part(pose, POSE) or pose  # a ReCanon checkpoint's P, or a standalone P
    merged = {k: v for k, v in state_dict.items() if not k.startswith(POSE)}
    merged.update({POSE + k: v for k, v in pose.items()})
    work_dir = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'checkpoint_with_pose.pth')
    meta = dict(meta, pose_checkpoint=osp.abspath(args.pose_checkpoint))
    torch.save(dict(state_dict=merged, meta=meta), path)
    return path, meta, merged


def to_jsonable(obj):
    """Metrics / configs -> plain JSON types (numpy scalars, tuples; NaN/inf -> None)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, 'tolist'):  # numpy / torch scalars and arrays
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # NaN / inf are not valid JSON
    return obj


def resolve_desensitizer(model_cfg) -> Optional[dict]:
    """Desensitizer (A) config of the model with the defaults of the
    registered classes filled in (e.g. ``radius=8`` when only ``kind='blur'``
    is given); None if the model has none."""
    from mmpose.registry import MODELS

    def defaults(type_name) -> dict:
        cls = MODELS.get(type_name) if isinstance(type_name, str) else None
        if cls is None:
            return {}
        params = inspect.signature(cls).parameters.values()
        return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}

    model_cfg = model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') else dict(model_cfg or {})
    desensitizer = model_cfg.get('desensitizer', defaults(model_cfg.get('type')).get('desensitizer'))
    if not isinstance(desensitizer, dict):
        return None
    desensitizer = copy.deepcopy(desensitizer)
    for key, value in defaults(desensitizer.get('type')).items():
        desensitizer.setdefault(key, value)
    return desensitizer


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        fail(f'config file not found: {args.config}')
    if not osp.isfile(args.checkpoint):
        fail(f'checkpoint file not found: {args.checkpoint}')

    import_mmrecanon()
    from mmrecanon.evaluation import build_tables, render_markdown
    from mmrecanon.evaluation.tables import render_keylock_markdown
    from mmrecanon.io.config import load_config, parse_cfg_options
    from mmrecanon.models.recanon import ReCanon
    from mmrecanon.runtime import build_runner

    try:
        # same KEY=VALUE parsing as MMEngine's DictAction; a broken config fails here in one line
        cfg_options = parse_cfg_options(args.cfg_options) or {}
        cfg = load_config(args.config, cfg_options)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    meta, state_dict = read_checkpoint(args.checkpoint)
    checkpoint = args.checkpoint
    if args.pose_checkpoint:
        checkpoint, meta, state_dict = with_pose(args, state_dict, meta)
    try:
        runner = build_runner(cfg, work_dir=args.work_dir, launcher=args.launcher, load_from=checkpoint)
    except (FileNotFoundError, ValueError, KeyError) as e:
        fail(f'cannot build the model of {args.config}: {e.args[0] if e.args else type(e).__name__}')
    from mmengine.model import is_model_wrapper
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    check_checkpoint(model, state_dict, meta, args.checkpoint, args.config)
    load_zeroshot(model, state_dict)
    cfg = runner.cfg
    metrics = runner.test() or {}

    method = args.method or meta.get('recanon_method')
    if method is None and cfg.get('model', {}).get('type') == 'ReCanon':
        # ReCanon(method=...): 'conventional' trains P alone on A(x); the others are the joint model
        method = 'ours' if ReCanon.config_has_generators(cfg.model) else 'conventional'
    if method is None:
        # no label stored: only the joint model produces a recovered view
        method = 'ours' if any(k.split('/')[0] == 'recovered' for k in metrics) else 'conventional'
    desensitizer = resolve_desensitizer(cfg.get('model', {}))
    tables = build_tables(metrics, method, desensitizer)
    markdown = render_markdown(tables)
    keylock = render_keylock_markdown(metrics)
    if keylock:
        markdown += '\n' + keylock

    result = to_jsonable({
        'config': osp.abspath(args.config),
        'config_name': osp.splitext(osp.basename(args.config))[0],
        'checkpoint': osp.abspath(args.checkpoint),
        'pose_checkpoint': osp.abspath(args.pose_checkpoint) if args.pose_checkpoint else None,
        'work_dir': osp.abspath(runner.work_dir),
        'time': datetime.datetime.now().isoformat(timespec='seconds'),
        'method': method,
        'desensitizer': desensitizer,
        'metrics': metrics,
        'tables': tables,
    })
    from mmengine.dist import is_main_process
    if is_main_process():
        print(markdown)
        with open(osp.join(runner.work_dir, 'tables.md'), 'w', encoding='utf-8') as f:
            f.write(markdown)
        text = json.dumps(result, indent=2, ensure_ascii=False)
        with open(osp.join(runner.work_dir, 'tables.json'), 'w', encoding='utf-8') as f:
            f.write(text)
        if args.out_json:
            out_dir = osp.dirname(osp.abspath(args.out_json))
            os.makedirs(out_dir, exist_ok=True)
            with open(args.out_json, 'w', encoding='utf-8') as f:
                f.write(text)
    return result


if __name__ == '__main__':
    main()
