"""mmrecanon: reversible privacy-preserving human pose estimation as an MMPose plugin.

Importing the package applies the torch compatibility shims (``mmrecanon.compat``) and registers every
model, loss, transform, metric and hook in MMPose's registries (:func:`load`).

One exception: the ``mmrecanon`` command line (the console script, or ``python -m mmrecanon.cli``)
parses its arguments first and calls :func:`load` only for the commands that need models, so that
``--help``, ``keygen`` and argument errors answer without importing torch (about 6 s).
"""
import os.path as _osp
import sys as _sys

from .version import __version__  # noqa: F401


def _started_as_cli() -> bool:
    """Whether this process is the ``mmrecanon`` command line, which calls :func:`load` itself."""
    argv = getattr(_sys, 'argv', None) or ['']
    if _osp.basename(argv[0]) in ('mmrecanon', 'mmrecanon.exe', 'mmrecanon-script.py'):
        return True  # the console script (setup.py entry point mmrecanon.cli:main)
    orig = list(getattr(_sys, 'orig_argv', ()))
    # ``python -m mmrecanon.cli``: the package is imported while runpy locates the module (argv[0] '-m')
    return argv[0] == '-m' and any(a == 'mmrecanon.cli' and orig[i - 1] == '-m' or a == '-mmmrecanon.cli'
                                   for i, a in enumerate(orig) if i)


def load() -> None:
    """Apply the torch compatibility shims and register everything (idempotent)."""
    from . import compat
    compat.apply()
    from . import datasets, engine, evaluation, models, visualization  # noqa: F401


if not _started_as_cli():
    load()
