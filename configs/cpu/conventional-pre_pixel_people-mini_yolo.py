# CPU, "Conventional" for pixelation r = 12 (block 12 at the 128-px portrait scale); otherwise as
# conventional-pre_blur_people-mini_yolo.py.
_base_ = ['./conventional-pre_blur_people-mini_yolo.py']
model = dict(desensitizer=dict(type='Desensitizer', kind='pixelate', block=12))
