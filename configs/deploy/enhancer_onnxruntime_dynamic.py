# MMDeploy: G_X alone -> ONNX Runtime with a dynamic batch axis (all portraits of a frame in one
# run), 128x128 portraits. Same graph as enhancer_onnxruntime_static-128x128.py; only axis 0 of
# `portraits` / `enhanced` is dynamic (the spatial size stays the model's portrait_size: G_X was
# trained at that scale, and the U-Net needs sides that are multiples of 2**num_downs).
# For 256-px models copy this file with input_shape=[256, 256].
_base_ = ['./enhancer_onnxruntime_static-128x128.py']
onnx_config = dict(dynamic_axes=dict(portraits={0: 'batch'}, enhanced={0: 'batch'}))
