# CPU, "Ours" for pixelation r = 12: recanon-ours_blur_people-mini_yolo.py with A = pixelation (block 12 at
# the 128-px portrait scale, 12·k frame pixels at the person's scale k on the tiles) and G_X/G_Y from the
# pixelation tiles run (recanon-native_pixel_people-mini_tiles.py), G_X/G_Y only: its training checkpoint
# also holds that run's untrained P, which `load_from` would put over "pre", so first
#   python tools/make_demo_checkpoint.py work_dirs/native_pixel/epoch_300.pth --out work_dirs/native_pixel/generators.pth
_base_ = ['./recanon-ours_blur_people-mini_yolo.py']
desensitizer = dict(type='Desensitizer', kind='pixelate', block=12)
model = dict(desensitizer=desensitizer)
load_from = 'work_dirs/native_pixel/generators.pth'
tile_pipeline = [
    dict(type='LoadImage'),
    dict(type='NativePersonTile', desensitizer=desensitizer, tile=128, margin=1.25, portrait_prob=0.25,
         pick='region'),
    dict(type='PackPoseInputs', meta_keys=('id', 'img_id', 'img_path', 'tile_valid')),
]
people_train = dict(type='CocoDataset', data_root='../shared/data/people-mini/', data_mode='bottomup',
                    ann_file='annotations/person_keypoints_train.json', data_prefix=dict(img='images/'))
train_dataloader = dict(dataset=dict(datasets=[
    {{_base_.frames_dataset}},
    dict(type='RepeatDataset', times={{_base_.tile_repeats}}, dataset=dict(people_train, pipeline=tile_pipeline)),
]))
