"""Small helpers shared by the mmrecanon metrics (data-sample access)."""
from typing import Any, Optional

import numpy as np
from mmengine.structures import BaseDataElement


def as_dict(obj: Any) -> Optional[dict]:
    """Return ``obj`` as a plain dict (MMEngine's Evaluator already passes
    ``data_sample.to_dict()``; data elements given directly are converted)."""
    if obj is None:
        return None
    if isinstance(obj, BaseDataElement):
        return obj.to_dict()
    if isinstance(obj, dict):
        return obj
    raise TypeError(f'expected a dict or a BaseDataElement, got {type(obj).__name__}')


def to_numpy(value: Any) -> np.ndarray:
    """Tensor / list / array -> numpy array (tensors are detached and moved to CPU)."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
