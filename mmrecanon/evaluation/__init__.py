"""Evaluation of mmrecanon: metrics for the paper's tables and the table writer."""
from .metrics import (DEFAULT_VIEWS, PORTRAIT_PAIRS, MatchedPCKhMetric, MultiViewPoseMetric,
                      PortraitQualityMetric)
from .tables import (build_ablation_table, build_tables, describe_desensitizer, load_tables,
                     merge_result_files, merge_tables, render_ablation_markdown, render_markdown)

__all__ = [
    'PortraitQualityMetric', 'MultiViewPoseMetric', 'MatchedPCKhMetric', 'DEFAULT_VIEWS',
    'PORTRAIT_PAIRS', 'build_tables', 'render_markdown', 'merge_tables', 'load_tables',
    'merge_result_files', 'describe_desensitizer', 'build_ablation_table',
    'render_ablation_markdown'
]
