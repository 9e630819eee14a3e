"""Config files and ``--cfg-options`` given on a command line: one-line errors instead of tracebacks.

Used by ``mmrecanon anonymize/recover`` and ``tools/test.py``.  Importing this module is cheap (no torch,
no MMEngine); MMEngine is imported when a config is actually loaded.
"""
import argparse
import os.path as osp
from typing import List, Optional


class ConfigError(ValueError):
    """A config file or ``--cfg-options`` that cannot be used (one line, exit code 2)."""


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f'{type(err).__name__}: {lines[0]}' if lines else type(err).__name__


class CfgOptionsAction(argparse.Action):
    """``--cfg-options KEY=VALUE ...`` kept as raw strings while parsing (nothing heavy is imported);
    :func:`parse_cfg_options` turns them into a dict once the command runs."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, list(getattr(namespace, self.dest, None) or []) + list(values))


def parse_cfg_options(items: Optional[List[str]]) -> Optional[dict]:
    """``['a.b=1', 'c=[1,2]']`` → ``{'a.b': 1, 'c': [1, 2]}`` with MMEngine's ``DictAction`` rules.

    An item without ``=`` or with an empty key is a :class:`ConfigError` (MMEngine would raise
    "not enough values to unpack").
    """
    if not items:
        return None if items is None else {}
    for item in items:
        key = item.split('=', 1)[0]
        if '=' not in item or not key.strip():
            raise ConfigError(f'--cfg-options {item!r}: expected KEY=VALUE, e.g. model.portrait_margin=1.5 '
                              'or test_dataloader.batch_size=1')
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    try:
        DictAction(option_strings=['--cfg-options'], dest='cfg_options')(None, namespace, items)
    except Exception as e:  # noqa: BLE001 - a value MMEngine cannot parse
        raise ConfigError(f'--cfg-options {" ".join(items)}: {_first_line(e)}') from None
    return namespace.cfg_options


def load_config(path: str, cfg_options: Optional[dict] = None, what: str = 'config'):
    """``mmengine.Config.fromfile(path)`` with ``cfg_options`` merged; every failure is one line.

    A missing file → FileNotFoundError; a Python config with a syntax error, a JSON/YAML file that is not
    an object (e.g. a list), a missing ``_base_`` file, a failing ``custom_imports`` or options that
    cannot be merged → :class:`ConfigError`.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} file not found: {path}')
    from mmengine.config import Config
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as e:
        where = f' (line {e.lineno})' if e.lineno else ''
        raise ConfigError(f'{what} {path} is not valid Python: {e.msg}{where}') from None
    except Exception as e:  # noqa: BLE001 - mmengine raises AttributeError for a JSON list, etc.
        if path.lower().endswith(('.json', '.yaml', '.yml')):
            raise ConfigError(f'{what} {path} must hold an object of settings (e.g. {{"model": {{...}}}}): '
                              f'{_first_line(e)}') from None
        raise ConfigError(f'cannot load {what} {path}: {_first_line(e)}') from None
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
            if any(k.startswith('custom_imports') for k in cfg_options):  # fromfile imported the file's own
                from mmengine.utils import import_modules_from_strings
                import_modules_from_strings(**cfg.custom_imports)
        except Exception as e:  # noqa: BLE001
            raise ConfigError(f'--cfg-options cannot be applied to {path}: {_first_line(e)}') from None
    _no_persistent_workers_without_workers(cfg)
    return cfg


def _no_persistent_workers_without_workers(cfg) -> None:
    """``num_workers=0`` (e.g. from --cfg-options, to load data in the main process) with a base's
    ``persistent_workers=True`` makes torch's DataLoader raise deep inside the runner: drop the flag, which
    means nothing without workers."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if isinstance(loader, dict) and loader.get('num_workers', 1) == 0 and loader.get('persistent_workers'):
            loader['persistent_workers'] = False
