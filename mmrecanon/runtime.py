"""Config loading and Runner construction shared by tools/train.py, tools/test.py and the CLI."""
import os.path as osp
import sys
from typing import NoReturn, Optional, Union

from mmengine.config import Config, DictAction  # noqa: F401  (re-exported for the tools)
from mmengine.runner import Runner

from .io.config import load_config  # noqa: F401  (one loader: one-line errors; re-exported for the tools)


def fail(err) -> NoReturn:
    """Exit with one clear line (exit code 2) instead of a traceback."""
    msg = err.args[0] if isinstance(err, BaseException) and err.args else str(err)
    print(f'error: {msg}', file=sys.stderr)
    sys.exit(2)


def enable_amp(cfg: Config) -> None:
    """Turn every optimizer wrapper into an ``AmpOptimWrapper`` (MMEngine's AMP needs CUDA/NPU/MLU)."""
    import torch
    if not torch.cuda.is_available():
        raise ValueError('--amp needs a CUDA device; this machine has none')
    ow = cfg.optim_wrapper
    # one wrapper per network (ReCanon: PerNetworkOptimWrapperConstructor; MMEngine's own multi-wrapper
    # constructor): each network's wrapper becomes an AmpOptimWrapper
    if ow.get('constructor') in ('MultiOptimWrapperConstructor', 'PerNetworkOptimWrapperConstructor'):
        for key, value in ow.items():
            if isinstance(value, dict) and 'optimizer' in value:
                value['type'] = 'AmpOptimWrapper'
                value.setdefault('loss_scale', 'dynamic')
    else:
        ow['type'] = 'AmpOptimWrapper'
        ow.setdefault('loss_scale', 'dynamic')


def build_runner(config: Union[str, Config], work_dir: Optional[str] = None, cfg_options: Optional[dict] = None,
                 launcher: str = 'none', resume=None, amp: bool = False, load_from: Optional[str] = None) -> Runner:
    """``config``: a config file, or a ``Config`` that ``load_config`` already read (with its options merged:
    then ``cfg_options`` must be None), so that a tool that checks the config first does not read it twice."""
    if isinstance(config, Config):
        if cfg_options:
            raise ValueError('build_runner: a loaded Config already has its options; pass cfg_options=None')
        cfg = config
    else:
        cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(cfg.filename))[0])
    if amp:
        enable_amp(cfg)
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'checkpoint to resume from not found: {resume}')
        cfg.resume, cfg.load_from = True, resume
    if load_from is not None:
        if not osp.isfile(load_from):
            raise FileNotFoundError(f'checkpoint not found: {load_from}')
        cfg.load_from = load_from
    if cfg.get('default_scope') is None:
        cfg.default_scope = 'mmpose'
    return Runner.from_cfg(cfg)


def report_main(args, measure, render, files=(), together=()) -> int:
    """Shared ``main`` of the ``tools/analysis`` reports.

    One-line errors (exit code 2) for options that go together (``together``: pairs of attribute names)
    and missing ``files`` (None entries skipped); then ``result = measure(args)``, Markdown
    ``render(result)`` printed and written to ``args.out + '.md'``, the result to ``args.out + '.json'``.
    """
    import json
    for a, b in together:
        if (getattr(args, a) is None) != (getattr(args, b) is None):
            print(f"error: --{a.replace('_', '-')} and --{b.replace('_', '-')} go together", file=sys.stderr)
            return 2
    for path in files:
        if path is not None and not osp.isfile(path):
            print(f'error: file not found: {path}', file=sys.stderr)
            return 2
    from mmengine.registry import init_default_scope

    import mmrecanon  # noqa: F401  (registries, compatibility shims)
    init_default_scope('mmpose')
    result = measure(args)
    table = render(result)
    print(table)
    with open(args.out + '.json', 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
    with open(args.out + '.md', 'w', encoding='utf-8') as f:
        f.write(table + '\n')
    return 0
