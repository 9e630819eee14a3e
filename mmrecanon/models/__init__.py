"""Models of mmrecanon; importing registers them in MMPose's MODELS / TASK_UTILS registries."""
from .discriminators import PatchDiscriminator
from .generators import ResnetGenerator, UnetGenerator
from .losses import ConsistencyLoss, GANLoss, PoseFeatureLoss, ThresholdL1Loss
from .pose_adapter import PoseAdapter  # noqa: F401  (public helper, not a config type)
from .pose_band import FaceSuppressionLoss, PoseBand, TemplateBand
from .recanon import ReCanon
from .utils import Desensitizer
from .yolo import *  # noqa: F401,F403  (YOLOv8-style P)

__all__ = [
    'UnetGenerator', 'ResnetGenerator', 'PatchDiscriminator', 'GANLoss', 'ThresholdL1Loss',
    'ConsistencyLoss', 'PoseFeatureLoss', 'Desensitizer', 'ReCanon', 'PoseBand', 'TemplateBand',
    'FaceSuppressionLoss'
]
