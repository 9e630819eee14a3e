# Test-sized joint model on mmpose-tiny: U-Net 5 (8 channels) on 32-px portraits, RTMPose-t on 64×64 crops.
_base_ = ['./_recanon_tiny_base.py']
pose_codec = dict(type='SimCCLabel', input_size=(64, 64), sigma=(4.9, 5.66), simcc_split_ratio=2.0,
                  normalize=False, use_dark=False)
model = dict(
    enhancer=dict(num_downs=5, base_channels=8),
    recoverer=dict(num_downs=5, base_channels=8),
    disc_enhanced=dict(base_channels=8),
    disc_recovered=dict(base_channels=8),
    desensitizer=dict(radius=2),
    portrait_size=32,
    pose_codec=pose_codec,
    pose_estimator=dict(head=dict(input_size=(64, 64), in_featuremap_size=(2, 2), decoder=pose_codec)))
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=2)
test_dataloader = dict(batch_size=2)
randomness = dict(seed=0)
