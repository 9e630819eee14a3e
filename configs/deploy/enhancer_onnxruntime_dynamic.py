# MMDeploy: G_X alone -> ONNX Runtime with a dynamic batch axis (all portraits of a frame in one
# run), 128x128 portraits. Same graph as enhancer_onnxruntime_static-128x128.py; only axis 0 of
# `portraits` / `enhanced` is dynamic (the spatial size stays the model's portrait_size: G_X was
# trained at that scale, and the U-Net needs sides that are multiples of 2**num_downs).
# For 256-px models copy this file with input_shape=[256, 256].
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=11,
    save_file='enhancer.onnx',
    input_names=['portraits'],
    output_names=['enhanced'],
    input_shape=[128, 128],  # (w, h) of the tracing input
    dynamic_axes=dict(
        portraits={0: 'batch'},
        enhanced={0: 'batch'}),
    optimize=False)
codebase_config = dict(type='mmrecanon', task='PortraitEnhancement', quantize=True)
backend_config = dict(type='onnxruntime')
