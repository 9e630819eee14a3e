# The banded "Ours" model (recanon-ours-band_blur_people-mini_yolo.py, the demo asset's G_X/G_Y/B) with the key
# lock: the same weights, a secret scramble (HaarCarrier(keyed=True), as recanon-native-keyed_blur_people-mini_tiles.py
# says). The pose band B lives in the Haar low band, outside the scrambled carrier, so the key changes nothing
# of it: with the right key G_Y's input is the unkeyed model's, and no further training is needed
# (results/recovery.md measures right key, a wrong key and no key at frame level).
_base_ = ['./recanon-ours-band_blur_people-mini_yolo.py']
model = dict(carrier=dict(type='HaarCarrier', bound=0.1, keyed=True))
