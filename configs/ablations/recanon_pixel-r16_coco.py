# Tab. 3: pixelation block r = 16.
_base_ = ['../recanon_pixel_coco.py']
model = dict(desensitizer=dict(block=16))
