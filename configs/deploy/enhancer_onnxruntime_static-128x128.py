# MMDeploy: the privacy enhancer G_X alone -> ONNX Runtime, static 1x3x128x128 input.
# For models with portrait_size=128 (configs/cpu/*, the U-Net 7 / ResNet 6 generators at 128 px).
# Graph (mmrecanon/deploy/enhancer.py, EnhancerExportModule):
#   portraits (1, 3, 128, 128) float32, BGR, in [-1, 1]  (ReCanon.crop: pixels / 127.5 - 1)
#   enhanced  (1, 3, 128, 128) float32 in [-1, 1], rounded to 8-bit levels when quantize=True
#   -> uint8 pixels = round((enhanced + 1) * 127.5); crop/paste happen outside the graph.
# Usage (repo root):
#   python tools/deploy.py configs/deploy/enhancer_onnxruntime_static-128x128.py \
#       configs/cpu/recanon_blur_people-mini.py work_dirs/<run>/epoch_30.pth \
#       --work-dir work_dirs/deploy-enhancer --verify
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=11,  # Round (8-bit quantisation) needs opset >= 11
    save_file='enhancer.onnx',
    input_names=['portraits'],
    output_names=['enhanced'],
    input_shape=[128, 128],  # (w, h) = the model's portrait_size
    optimize=False)  # MMDeploy's graph optimiser needs its C++ extension; ORT optimises at load time
# Read by mmrecanon (tools/deploy.py), not by an MMDeploy task processor.
# quantize=True: y' is emitted on 8-bit levels, like ReCanon.enhance with quantize=True
# (None: follow the model config's `quantize`).
codebase_config = dict(type='mmrecanon', task='PortraitEnhancement', quantize=True)
backend_config = dict(type='onnxruntime')
