# Tab. 3: Gaussian blur radius r = 2.
_base_ = ['../recanon_blur_coco.py']
model = dict(desensitizer=dict(radius=2))
