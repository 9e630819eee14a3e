# MMDeploy: YOLOv8-pose P -> ONNX Runtime, static 1x3x320x320 input (MMDeploy's mmpose codebase,
# PoseDetection task). Model config: configs/yolov8pose/yolov8pose-n_coco-tiny.py (320x320 codec).
# Outputs (see mmrecanon/deploy/yolov8pose_head.py):
#   dets (1, N, 5)         x1, y1, x2, y2, score in model-input pixels, N = 2100 anchors at 320
#   keypoints (1, N, K, 3) x, y, visibility score
# Raw decoded predictions of all anchors (no NMS in the graph), so ORT and PyTorch outputs can be
# compared element-wise. To put MMDeploy's ONNX NMS in the graph instead, add e.g.
#   codebase_config = dict(post_processing=dict(score_threshold=0.05, iou_threshold=0.65,
#       max_output_boxes_per_class=200, pre_top_k=1000, keep_top_k=100))
# Usage (from the repo root; see tests/test_yolo_pose.py::test_onnx_export_matches_pytorch):
#   from mmdeploy.apis import torch2onnx
#   torch2onnx(img, work_dir, 'end2end.onnx', <this file>,
#              'configs/yolov8pose/yolov8pose-n_coco-tiny.py', checkpoint, 'cpu')
# (or MMDeploy's tools/deploy.py from its source tree with the same arguments)
# registers the YOLOv8-pose modules and the MMDeploy rewriter of YOLOv8PoseHead.forward
custom_imports = dict(imports=['mmrecanon.models.yolo', 'mmrecanon.deploy'],
                      allow_failed_imports=False)
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=11,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['dets', 'keypoints'],
    input_shape=[320, 320],  # (w, h)
    optimize=False)  # MMDeploy's graph optimiser needs its C++ extension; not needed here
codebase_config = dict(type='mmpose', task='PoseDetection')
backend_config = dict(type='onnxruntime')
