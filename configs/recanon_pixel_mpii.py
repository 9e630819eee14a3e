# Paper setting: MPII, pixelation with block side r = 12.
_base_ = ['./recanon_blur_mpii.py']
model = dict(desensitizer=dict(kind='pixelate', block=12))
