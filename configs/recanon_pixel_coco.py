# Paper setting: COCO, pixelation with block side r = 12.
_base_ = ['./recanon_blur_coco.py']
model = dict(desensitizer=dict(kind='pixelate', block=12))
