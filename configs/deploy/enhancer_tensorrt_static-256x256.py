# MMDeploy: G_X alone -> TensorRT engine, static 1x3x256x256 input (paper-size portraits:
# configs/recanon_*_coco.py and the Tab. 4 ablations use portrait_size=256).
# Needs an NVIDIA GPU with TensorRT (tensorrt Python package) — not installable on the CPU dev
# machine. On such a machine:
#   python tools/deploy.py configs/deploy/enhancer_tensorrt_static-256x256.py \
#       configs/recanon_blur_coco.py <checkpoint> --work-dir work_dirs/trt-enhancer --device cuda:0
# writes enhancer.onnx (the same graph as the ONNX Runtime configs) and then enhancer.engine
# through MMDeploy's TensorRT backend manager (mmdeploy.apis.utils.to_backend). Without
# TensorRT only the ONNX file is written and the tool exits with code 2.
_base_ = ['./enhancer_onnxruntime_static-128x128.py']
onnx_config = dict(input_shape=[256, 256])  # (w, h) = portrait_size
backend_config = dict(
    _delete_=True,
    type='tensorrt',
    # fp32: the 8-bit rounding of y' is sensitive to fp16 error (set fp16_mode=True for speed and
    # check the level mismatch with --verify); 1 GiB builder workspace (MMDeploy's default).
    common_config=dict(fp16_mode=False, max_workspace_size=1 << 30),
    model_inputs=[
        dict(input_shapes=dict(portraits=dict(
            min_shape=[1, 3, 256, 256], opt_shape=[1, 3, 256, 256], max_shape=[1, 3, 256, 256])))
    ])
