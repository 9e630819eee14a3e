# CPU: key-locked recovery (beyond the paper; mmrecanon/models/utils/keylock.py): y' keeps the low band of
# A(x) and carries G_X's detail bands under a key-derived permutation and sign flip; G_Y unlocks them with
# the key. Training draws a random key per batch (a fresh nonce per portrait), so one model serves any key.
_base_ = ['./recanon_blur_people-mini_p-init.py']
model = dict(key_lock=dict(type='KeyedCarrier'))
