"""MMDeploy integration: function rewriters for mmrecanon modules (registered on import).

Import this module (e.g. ``custom_imports=dict(imports=['mmrecanon.deploy'])`` in the model
config) before ``mmdeploy.apis.torch2onnx``.
"""
from .enhancer import (EnhancerExportModule, build_enhancer, export_enhancer,
                       load_portraits, verify_enhancer)
from .yolov8pose_head import YOLOv8PoseExportModule, yolov8pose_head__forward

__all__ = [
    'yolov8pose_head__forward', 'YOLOv8PoseExportModule', 'EnhancerExportModule', 'build_enhancer',
    'export_enhancer', 'load_portraits', 'verify_enhancer'
]
