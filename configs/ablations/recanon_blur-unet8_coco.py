# Tab. 4: U-Net generators with 8 downsamplings (input side must be a multiple of 2**8).
_base_ = ['../recanon_blur_coco.py']
model = dict(enhancer=dict(num_downs=8), recoverer=dict(num_downs=8))
