# CPU: joint training on people-mini with P (RTMPose-t, 128×96) initialised from a P trained on the
# original images first — P learns little in 15 joint epochs from scratch (results/people-mini-demo.md).
# Make that P first (~20 min on 2 cores):
#   python tools/train.py configs/rtmpose/rtmpose-t_people-mini.py
# The same P, frozen, is the Tab. 1 "zero-shot" P (trained on originals only) tried on y'.
_base_ = ['./recanon_blur_people-mini_rtmpose.py']
pose_checkpoint = 'work_dirs/rtmpose-t_people-mini/epoch_90.pth'
model = dict(
    pose_estimator=dict(init_cfg=dict(type='Pretrained', checkpoint=pose_checkpoint)),
    zeroshot_pose_estimator={{_base_.pose_estimator}},
    zeroshot_checkpoint=pose_checkpoint)
# P is fine-tuned, not learnt anew: AdamW lr 2e-4 (10 % of the standalone run's peak 2e-3) instead of the
# from-scratch 1e-3, so the first batches of y'/A(x) frames do not wipe out what P learnt on originals.
optim_wrapper = dict(pose_estimator=dict(optimizer=dict(lr=2e-4)))
