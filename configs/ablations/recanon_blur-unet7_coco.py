# Tab. 4: U-Net generators with 7 downsamplings (input side must be a multiple of 2**7).
_base_ = ['../recanon_blur_coco.py']
model = dict(enhancer=dict(num_downs=7), recoverer=dict(num_downs=7))
