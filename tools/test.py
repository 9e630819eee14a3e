"""Test a mmrecanon model and write the paper's tables.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
                         [--out-json FILE] [--method {ours,conventional}]

Runs MMEngine's ``Runner.test()`` (as MMPose's tools/test.py), prints the
Markdown tables and writes ``tables.md`` and ``tables.json`` (metrics, tables,
config, checkpoint, method, desensitizer, time) into the work dir.

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


def read_checkpoint_meta(path: str) -> dict:
    """``meta`` dict of an MMEngine checkpoint (empty if it has none)."""
    import torch
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    except Exception as e:  # noqa: BLE001 - report any unreadable file in one line
        fail(f'cannot read checkpoint {path}: {type(e).__name__}: {e}'.splitlines()[0])
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return meta if isinstance(meta, dict) else {}


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
    from mmengine.config import Config, DictAction
    from mmengine.runner import Runner

    from mmrecanon.evaluation import build_tables, render_markdown
    from mmrecanon.evaluation.tables import render_keylock_markdown

    cfg_options = {}
    if args.cfg_options:
        # same KEY=VALUE parsing as MMEngine's DictAction
        action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
        namespace = argparse.Namespace()
        action(None, namespace, args.cfg_options)
        cfg_options = namespace.cfg_options

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if cfg_options:
        cfg.merge_from_dict(cfg_options)

    meta = read_checkpoint_meta(args.checkpoint)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test() or {}

    method = args.method or meta.get('recanon_method')
    if method is None and cfg.get('model', {}).get('type') == 'ReCanon':
        # ReCanon(method=...): 'conventional' trains P alone on A(x); the others are the joint model
        method = 'conventional' if cfg.model.get('method') == 'conventional' else 'ours'
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
