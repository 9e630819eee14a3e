"""Person boxes for the portraits (the crops x that G_X anonymises), in model-input space."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...models.utils.input_space import image_to_input_space


@TRANSFORMS.register_module()
class PortraitBoxes(BaseTransform):
    """Store every annotated person box in model-input space as ``results['portrait_bboxes']``.

    Training pipelines (``BottomupRandomAffine``) already warp ``bbox`` into input space
    (``from_space='input'``).  Evaluation pipelines (``BottomupResize``) leave ``bbox`` in image space and
    record ``input_center``/``input_scale``/``input_size``; ``from_space='image'`` applies the same mapping
    that ``BottomupPoseEstimator`` inverts for its predictions.  Pack the key with
    ``PackPoseInputs(meta_keys=(..., 'portrait_bboxes'))``.

    Args:
        from_space (str): ``'input'`` or ``'image'``.
    """

    def __init__(self, from_space: str = 'input') -> None:
        if from_space not in ('input', 'image'):
            raise ValueError(f"PortraitBoxes: from_space must be 'input' or 'image', got {from_space!r}")
        self.from_space = from_space

    def transform(self, results: dict) -> dict:
        boxes = np.asarray(results.get('bbox', np.zeros((0, 4))), dtype=np.float32).reshape(-1, 4)
        if self.from_space == 'image' and len(boxes):
            for key in ('input_center', 'input_scale', 'input_size'):
                if key not in results:
                    raise KeyError(f"PortraitBoxes(from_space='image') needs '{key}' (put it after BottomupResize)")
            boxes = image_to_input_space(boxes.reshape(-1, 2, 2), results).reshape(-1, 4)
        results['portrait_bboxes'] = boxes.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(from_space={self.from_space!r})'
