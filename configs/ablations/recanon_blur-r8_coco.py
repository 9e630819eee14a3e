# Tab. 3: Gaussian blur radius r = 8.
_base_ = ['../recanon_blur_coco.py']
model = dict(desensitizer=dict(radius=8))
