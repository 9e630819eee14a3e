# Tab. 3: pixelation block r = 12.
_base_ = ['../recanon_pixel_coco.py']
model = dict(desensitizer=dict(block=12))
