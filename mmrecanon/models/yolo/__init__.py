"""YOLOv8-style one-stage pose estimator P as MMPose modules (registered on import).

Use inside ``BottomupPoseEstimator``: backbone ``YOLOv8CSPDarknet``, neck ``YOLOv8PAFPN``,
head ``YOLOv8PoseHead`` (see configs/_base_/pose/yolov8pose_*.py).
"""
from .assigner import TaskAlignedAssigner
from .backbone import YOLOv8CSPDarknet
from .head import DEFAULT_TEST_CFG, YOLOv8PoseHead
from .losses import CIoULoss, DFLoss, OKSKeypointLoss, load_sigmas
from .neck import YOLOv8PAFPN

__all__ = [
    'YOLOv8CSPDarknet', 'YOLOv8PAFPN', 'YOLOv8PoseHead',
    'DEFAULT_TEST_CFG', 'TaskAlignedAssigner', 'DFLoss', 'CIoULoss', 'OKSKeypointLoss',
    'load_sigmas'
]
