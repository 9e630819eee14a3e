# Tab. 3: pixelation block r = 8.
_base_ = ['../recanon_pixel_coco.py']
model = dict(desensitizer=dict(block=8))
