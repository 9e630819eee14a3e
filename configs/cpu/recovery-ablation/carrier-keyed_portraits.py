# Recovery ablation: the carrier design with the key lock (HaarCarrier(keyed=True)): a random key per batch
# and a nonce per portrait in training, as configs/cpu/recanon_blur_people-mini_keyed.py.
_base_ = ['./carrier_portraits.py']
model = dict(carrier=dict(keyed=True))
