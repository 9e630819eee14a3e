"""mmrecanon: reversible privacy-preserving human pose estimation as an MMPose plugin.

Importing the package applies the torch compatibility shims (``mmrecanon.compat``) and registers every
model, loss, transform, metric and hook in MMPose's registries.
"""
from . import compat

compat.apply()

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401
from .version import __version__  # noqa: E402,F401
