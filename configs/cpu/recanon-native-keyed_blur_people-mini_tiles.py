# The native-resolution carrier model with the key lock: the same G_X/G_Y weights, a secret scramble.
# HaarCarrier(keyed=True) scrambles G_X's carrier with SHAKE-256 of the camera's key and a nonce per tile
# (derived from the region's nonce, keylock.tile_nonce) instead of the public permutation. With the right
# key, G_Y's input is the same as with the public scramble (the carrier put back in place, A(x)'s own
# details scrambled), so the unkeyed model's weights serve unchanged: no further training
# (results/recovery.md measures right key, a wrong key and no key at frame level).
_base_ = ['./recanon-native_blur_people-mini_tiles.py']
model = dict(carrier=dict(type='HaarCarrier', bound=0.1, keyed=True))
