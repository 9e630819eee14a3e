from .samplers import SourceBatchSampler  # noqa: F401
from .transforms import *  # noqa: F401,F403
