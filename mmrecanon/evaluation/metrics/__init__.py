"""Metrics of mmrecanon (registered in MMPose's ``METRICS`` on import)."""
from .matched_pckh import MatchedPCKhMetric
from .multi_view_pose import DEFAULT_VIEWS, MultiViewPoseMetric
from .portrait_quality import PORTRAIT_PAIRS, PortraitQualityMetric

__all__ = [
    'PortraitQualityMetric', 'MultiViewPoseMetric', 'MatchedPCKhMetric', 'DEFAULT_VIEWS',
    'PORTRAIT_PAIRS'
]
