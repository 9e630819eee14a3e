# CPU, "Ours" with a pose band (configs/_base_/pose_band.py says what it is, why, and its settings): the joint
# system of recanon-ours_blur_people-mini_yolo.py (same start, data, batches, P and schedule) with
# y' = A(x) + carrier + B(x). results/pose-band.md: P on y' 11.5 mAP@0.5 vs the Conventional 3.9.
_base_ = ['./recanon-ours_blur_people-mini_yolo.py', '../_base_/pose_band.py']
model = dict(pose_band={{_base_.pose_band}}, band_face_loss={{_base_.band_face_loss}})
optim_wrapper = dict(pose_band={{_base_.pose_band_optim}})
