# Tab. 4: ResNet generators with 9 residual blocks.
_base_ = ['../recanon_blur_coco.py']
model = dict(
    enhancer=dict(_delete_=True, type='ResnetGenerator', num_blocks=9),
    recoverer=dict(_delete_=True, type='ResnetGenerator', num_blocks=9))
