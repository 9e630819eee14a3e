# MMDeploy: YOLOv8-pose P -> TensorRT engine, static 1x3x640x640 input (the paper's P input size,
# configs/_base_/pose/yolov8pose_{n,s}_coco.py). Needs an NVIDIA GPU with TensorRT.
# Usage (a GPU machine, repo root; a ReCanon config works too: its pose_estimator is exported):
#   python tools/deploy.py configs/deploy/pose-detection_yolov8pose_tensorrt_static-640x640.py \
#       configs/recanon_blur_coco.py <checkpoint> --part pose --work-dir work_dirs/trt-pose \
#       --img ../shared/data/mmpose-tiny/coco/000000000785.jpg --device cuda:0
# Outputs as in pose-detection_yolov8pose_onnxruntime_static-320x320.py (raw decoded anchors,
# N = 8400 at 640, no NMS in the graph). To end the graph with NMS add
#   codebase_config = dict(type='mmpose', task='PoseDetection', post_processing=dict(
#       score_threshold=0.05, iou_threshold=0.65, max_output_boxes_per_class=200,
#       pre_top_k=1000, keep_top_k=100))
# which becomes MMDeploy's TRTBatchedNMS plugin (needs MMDeploy's TensorRT custom ops).
_base_ = ['./pose-detection_yolov8pose_onnxruntime_static-320x320.py']
onnx_config = dict(input_shape=[640, 640])  # (w, h)
backend_config = dict(
    _delete_=True,
    type='tensorrt',
    common_config=dict(fp16_mode=False, max_workspace_size=1 << 30),  # fp32, 1 GiB workspace
    model_inputs=[
        dict(input_shapes=dict(input=dict(
            min_shape=[1, 3, 640, 640], opt_shape=[1, 3, 640, 640], max_shape=[1, 3, 640, 640])))
    ])
