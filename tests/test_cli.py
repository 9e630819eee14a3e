"""The anonymize / recover command line and its inference API (mmrecanon.apis, mmrecanon.cli).

A tiny ReCanon (U-Net 5 on 32-px portraits, RTMPose-t on 64-px crops as top-down P) is saved to a tmp
folder; person boxes come from --boxes, so no trained detector is needed.  Error cases run the real
command in a subprocess (exit code 2, one line on stderr); everything else runs ``main([...])``
in-process to stay fast.
"""
import json
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmrecanon.apis import (InputError, anonymize_image, as_bgr_uint8, detect_people, init_recanon,
                            read_image, recover_image)
from mmrecanon.cli import main
from mmrecanon.models.utils.portrait import portrait_mask

H, W = 96, 128
K = 17
# two people: one inside the frame, one partly outside it (clipped to the frame)
PEOPLE = [[20, 20, 52, 76], [100, -20, 160, 50]]
# hand-computed square portrait boxes (margin 1.25): person 1 is 32×56 → side 70 around (36, 48);
# person 2 clipped to [100, 0, 128, 50] → side 62.5 around (114, 25)
PORTRAITS = [[1.0, 13.0, 71.0, 83.0], [82.75, -6.25, 145.25, 56.25]]
# the bit blocks that encode a video frame's index lie outside every portrait box
BIT_BLOCKS = [(16, 88), (16, 104), (48, 88), (48, 104)]


def tiny_model_cfg(**overrides):
    cfg = Config.fromfile('tests/configs/recanon_tiny.py').model.to_dict()
    cfg.update(overrides)
    return cfg


def save_model(cfg, path):
    from mmpose.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    # an optimizer state as a training checkpoint has it (export-camera must drop it)
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 1},
                'optimizer': {'recoverer': {'state': {}}}}, path)


def scene(seed=0):
    """A smooth background with a textured 'person' region."""
    rng = np.random.RandomState(seed)
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = np.linspace(40, 200, W).astype(np.uint8)[None, :, None]
    img[20:76, 20:52] = rng.randint(0, 255, (56, 32, 3))
    img[0:40, 100:128] = rng.randint(0, 255, (40, 28, 3))
    return img


def outside(boxes, shape=(H, W)):
    return ~portrait_mask(shape, torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)).numpy()


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Tiny networks: one intra-op thread is as fast and does not stall on a busy shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp('cli')
    cfg = str(d / 'tiny.py')
    Config(dict(model=tiny_model_cfg(), default_scope='mmpose')).dump(cfg)
    full, camera = str(d / 'full.pth'), str(d / 'camera.pth')
    save_model(tiny_model_cfg(), full)
    assert main(['export-camera', full, camera]) == 0
    boxes = d / 'boxes.json'
    boxes.write_text(json.dumps(PEOPLE))
    return SimpleNamespace(dir=d, cfg=cfg, full=full, camera=camera, boxes=str(boxes))


@pytest.fixture(scope='module')
def model(env):
    return init_recanon(env.cfg, env.full)


def common(env, ckpt=None):
    return ['--config', env.cfg, '--checkpoint', ckpt or env.full, '--no-progress']


# ---------------------------------------------------------------------------------------------- API
def test_anonymize_image_keeps_everything_outside_the_portraits(model):
    img = scene()
    out = anonymize_image(model, img, PEOPLE)
    assert out['enhanced'].dtype == np.uint8 and out['enhanced'].shape == img.shape
    np.testing.assert_allclose(out['boxes'], PORTRAITS, atol=1e-5)
    keep = outside(out['boxes'])
    assert np.array_equal(out['enhanced'][keep], img[keep])          # bit-identical background
    assert (out['enhanced'][~keep] != img[~keep]).mean() > 0.5       # portraits replaced by G_X(x)
    # P ran on the enhanced frame: one pose per person, in image pixels, near its box
    poses = out['poses']
    assert poses.keypoints.shape == (2, K, 2) and poses.keypoint_scores.shape == (2, K)
    np.testing.assert_allclose(out['person_boxes'], [[20, 20, 52, 76], [100, 0, 128, 50]])
    assert (poses.keypoints[0, :, 0] > 0).all() and (poses.keypoints[0, :, 0] < 80).all()


def test_anonymize_image_without_people_or_with_boxes_outside(model):
    img = scene()
    for boxes in ([], [[200, 10, 260, 50]], [[10, 10, 10, 40]]):  # none / outside / zero width
        out = anonymize_image(model, img, boxes)
        assert out['boxes'] == [] and len(out['poses']) == 0
        assert np.array_equal(out['enhanced'], img)


def test_conventional_model_applies_the_desensitizer(env):
    cfg = Config(dict(model=tiny_model_cfg(method='conventional', enhancer=None, recoverer=None,
                                           disc_enhanced=None, disc_recovered=None)))
    model = init_recanon(cfg)
    img = scene()
    out = anonymize_image(model, img, PEOPLE[:1])
    x = model.crop(torch.from_numpy(img).permute(2, 0, 1)[None].float(), [torch.tensor([PORTRAITS[0]])])
    expected = model.paste(torch.from_numpy(img).permute(2, 0, 1)[None].float(), model.desensitizer(x),
                           [torch.tensor([PORTRAITS[0]])])
    expected = torch.round(expected[0].clamp(0, 255)).byte().permute(1, 2, 0).numpy()
    assert np.array_equal(out['enhanced'], expected)
    with pytest.raises(ValueError, match='not reversible'):
        recover_image(model, out['enhanced'], out['boxes'])


def test_input_conversion_and_validation(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(as_bgr_uint8(grey), np.repeat(grey[..., None], 3, axis=2))
    rgba = np.random.RandomState(0).randint(0, 255, (3, 4, 4)).astype(np.uint8)
    assert np.array_equal(as_bgr_uint8(rgba), rgba[..., :3])
    assert np.array_equal(as_bgr_uint8(np.full((2, 2, 3), 65535, np.uint16)), np.full((2, 2, 3), 255, np.uint8))
    with pytest.raises(InputError, match='at most 8192 px'):
        as_bgr_uint8(np.zeros((2, 8193), np.uint8))
    with pytest.raises(InputError, match='uint8 or uint16'):
        as_bgr_uint8(np.zeros((2, 2, 3), np.float32))
    (tmp_path / 'empty.png').write_bytes(b'')
    (tmp_path / 'bad.png').write_bytes(b'\x89PNG garbage')
    cv2.imwrite(str(tmp_path / 'huge.png'), np.zeros((1, 9000), np.uint8))  # refused from the header
    for name, msg in (('empty.png', 'empty file'), ('bad.png', 'cannot decode'), ('huge.png', '9000×1 px')):
        with pytest.raises(InputError, match=msg):
            read_image(str(tmp_path / name))


def test_init_recanon_errors_and_recovery_flag(env, model, tmp_path):
    assert model.can_recover and not model.training
    camera = init_recanon(env.cfg, env.camera)
    assert not camera.can_recover
    for name in ('enhancer', 'pose_estimator'):  # the camera export kept G_X and P exactly
        theirs = getattr(camera, name).state_dict()
        for k, a in getattr(model, name).state_dict().items():
            assert torch.equal(a, theirs[k]), k
    with pytest.raises(ValueError, match='no recovery weights'):
        recover_image(camera, scene(), PORTRAITS)
    with pytest.raises(FileNotFoundError, match='checkpoint file not found'):
        init_recanon(env.cfg, str(tmp_path / 'missing.pth'))
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='cannot read checkpoint'):
        init_recanon(env.cfg, str(tmp_path / 'junk.pth'))
    wider = str(tmp_path / 'wider.pth')  # G_X with 16 base channels: shapes do not fit the config
    save_model(tiny_model_cfg(enhancer=dict(type='UnetGenerator', num_downs=5, base_channels=16)), wider)
    with pytest.raises(ValueError, match=r'does not fit the model.*of another shape \(e.g. enhancer\.'):
        init_recanon(env.cfg, wider)


def test_detect_people_topdown_needs_boxes_and_filters_detector_persons(model, monkeypatch):
    with pytest.raises(ValueError, match='top-down.*--boxes.*--det-config'):
        detect_people(model, scene())
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    sample = DetDataSample(pred_instances=InstanceData(
        bboxes=torch.tensor([[10., 5., 40., 90.], [0., 0., 50., 50.], [60., 10., 200., 120.], [1., 1., 9., 9.]]),
        labels=torch.tensor([0, 2, 0, 0]), scores=torch.tensor([0.9, 0.99, 0.5, 0.2])))
    import mmdet.apis
    monkeypatch.setattr(mmdet.apis, 'inference_detector', lambda det, img: sample)
    boxes = detect_people(model, scene(), score_thr=0.3, detector=SimpleNamespace(person_label=0))
    # label 2 (not a person) and the 0.2-score box are dropped; the third box is clipped to 128×96
    np.testing.assert_allclose(boxes, [[10, 5, 40, 90], [60, 10, 128, 96]])


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_image_with_vis(env, model):
    src = env.dir / 'single'
    src.mkdir()
    img = scene()
    cv2.imwrite(str(src / 'street.png'), img)
    out = env.dir / 'single_out'
    assert main(['anonymize', '-i', str(src / 'street.png'), '-o', str(out), '--boxes', env.boxes, '--vis',
                 *common(env)]) == 0
    res = cv2.imread(str(out / 'street.png'))
    portraits = json.loads((out / 'portraits.json').read_text())
    boxes = portraits['files']['street.png']['boxes']
    np.testing.assert_allclose(boxes, PORTRAITS, atol=1e-5)
    assert np.array_equal(res, anonymize_image(model, img, PEOPLE)['enhanced'])
    keep = outside(boxes)
    assert np.array_equal(res[keep], img[keep])
    poses = json.loads((out / 'poses.json').read_text())
    assert len(poses) == 2 and all(p['image'] == 'street.png' and len(p['keypoints']) == 3 * K for p in poses)
    assert poses[0]['bbox'] == [20.0, 20.0, 32.0, 56.0]  # COCO xywh of the first person
    assert cv2.imread(str(out / 'vis' / 'street.png')).shape == (H, 3 * W, 3)


def test_cli_folder_skips_corrupt_converts_and_resumes(env, capsys):
    src, out = env.dir / 'folder', env.dir / 'folder_out'
    (src / 'sub').mkdir(parents=True)
    (src / 'broken.jpg').write_bytes(b'\xff\xd8 this is not a jpeg')
    grey = cv2.cvtColor(scene(1), cv2.COLOR_BGR2GRAY)
    rgba = np.dstack([scene(2), np.full((H, W), 7, np.uint8)])
    cv2.imwrite(str(src / 'grey.png'), grey)
    cv2.imwrite(str(src / 'sub' / 'rgba.png'), rgba)
    (src / 'notes.txt').write_text('ignored')
    args = ['anonymize', '-i', str(src), '-o', str(out), '--boxes', env.boxes, *common(env)]

    assert main(args) == 1  # one input skipped
    err = capsys.readouterr().err
    assert err.count('skipping') == 1 and 'broken.jpg: cannot decode the image' in err
    assert not (out / 'broken.jpg').exists()
    files = json.loads((out / 'portraits.json').read_text())['files']
    assert sorted(files) == ['grey.png', 'sub/rgba.png']
    for name, original in (('grey.png', np.repeat(grey[..., None], 3, 2)), ('sub/rgba.png', rgba[..., :3])):
        res = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert res.shape == (H, W, 3)  # written as BGR
        keep = outside(files[name]['boxes'])
        assert np.array_equal(res[keep], original[keep])
    assert len(json.loads((out / 'poses.json').read_text())) == 4  # 2 people × 2 images

    # resume: a finished file is not redone, a missing one is completed
    rgba_first = cv2.imread(str(out / 'sub' / 'rgba.png'))
    os.remove(out / 'sub' / 'rgba.png')
    stamp = os.stat(out / 'grey.png').st_mtime_ns
    assert main(args) == 1
    captured = capsys.readouterr()
    assert '1 of 3 file(s) already done' in captured.out
    assert os.stat(out / 'grey.png').st_mtime_ns == stamp
    assert np.array_equal(cv2.imread(str(out / 'sub' / 'rgba.png')), rgba_first)
    poses = json.loads((out / 'poses.json').read_text())
    assert sorted({p['image'] for p in poses}) == ['grey.png', 'sub/rgba.png'] and len(poses) == 4
    assert not [p for p in os.listdir(out) if p.startswith('.')]  # no temporary files left


def make_video(path, n=12):
    rng = np.random.RandomState(3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10, (W, H))
    for i in range(n):
        frame = np.zeros((H, W, 3), np.uint8)
        frame[:] = np.linspace(40, 200, W).astype(np.uint8)[None, :, None]
        frame[20:76, 20:52] = rng.randint(0, 255, (56, 32, 3))
        for bit, (y, x) in enumerate(BIT_BLOCKS):  # frame index, 4 bits, as black/white blocks
            frame[y:y + 16, x:x + 16] = 255 if (i >> bit) & 1 else 0
        writer.write(frame)
    writer.release()


def read_video(path):
    cap, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = cap.read()
        if not ok:
            return frames
        frames.append(frame.astype(np.int16))


def frame_index(frame):
    return sum(int(frame[y + 4:y + 12, x + 4:x + 12].mean() > 128) << b for b, (y, x) in enumerate(BIT_BLOCKS))


def test_cli_video_frames_in_order_background_kept(env):
    src, out = env.dir / 'video', env.dir / 'video_out'
    src.mkdir()
    make_video(src / 'clip.mp4')
    boxes = env.dir / 'video_boxes.json'
    boxes.write_text(json.dumps({'clip.mp4': PEOPLE[:1]}))  # one person, every frame
    assert main(['anonymize', '-i', str(src / 'clip.mp4'), '-o', str(out), '--boxes', str(boxes),
                 *common(env)]) == 0
    before, after = read_video(src / 'clip.mp4'), read_video(out / 'clip.mp4')
    assert len(after) == 12
    assert [frame_index(f) for f in after] == list(range(12))
    entry = json.loads((out / 'portraits.json').read_text())['files']['clip.mp4']
    assert entry['type'] == 'video' and len(entry['frames']) == 12
    np.testing.assert_allclose(entry['frames'][5], PORTRAITS[:1], atol=1e-5)
    for a, b in zip(before, after):
        # background beyond the codec's 16-px macroblock next to the box: only re-encoding noise
        diff = np.abs(a[:, 80:] - b[:, 80:])
        assert diff.mean() < 4 and diff.max() <= 12  # mp4v re-encoding here: mean ≈ 2.3, max 5
        assert np.abs(a[20:76, 20:52] - b[20:76, 20:52]).mean() > 10  # the person was replaced
    poses = json.loads((out / 'poses.json').read_text())
    assert [p['frame'] for p in poses] == list(range(12)) and all(len(p['keypoints']) == 3 * K for p in poses)


def test_cli_recover_round_trip_changes_only_the_portraits(env, model):
    src, anon, rec = env.dir / 'rt', env.dir / 'rt_anon', env.dir / 'rt_rec'
    src.mkdir()
    cv2.imwrite(str(src / 'a.png'), scene(4))
    assert main(['anonymize', '-i', str(src), '-o', str(anon), '--boxes', env.boxes, *common(env)]) == 0
    assert main(['recover', '-i', str(anon), '-o', str(rec), *common(env)]) == 0
    enhanced, recovered = cv2.imread(str(anon / 'a.png')), cv2.imread(str(rec / 'a.png'))
    boxes = json.loads((anon / 'portraits.json').read_text())['files']['a.png']['boxes']
    keep = outside(boxes)
    assert np.array_equal(recovered[keep], enhanced[keep])
    assert (recovered[~keep] != enhanced[~keep]).mean() > 0.5
    assert np.array_equal(recovered, recover_image(model, enhanced, boxes))


def test_cli_jpeg_inputs_stay_recoverable_and_recover_needs_no_pose_weights(env, model, capsys):
    """A reversible model writes JPEG inputs as PNG (JPEG would destroy the exact y' that G_Y decodes), says so,
    and warns when --out-ext forces a lossy format; recover runs from G_X/G_Y alone (P's weights are AGPL-3.0
    and not shipped: recovery never runs P)."""
    from mmrecanon.io.checkpoint import POSE, part
    src, anon, rec, forced = (env.dir / n for n in ('jp', 'jp_anon', 'jp_rec', 'jp_forced'))
    src.mkdir()
    cv2.imwrite(str(src / 'a.jpg'), scene(5))
    img = cv2.imread(str(src / 'a.jpg'))  # what the camera sends: the decoded JPEG
    assert main(['anonymize', '-i', str(src), '-o', str(anon), '--boxes', env.boxes, *common(env)]) == 0
    err = capsys.readouterr().err
    assert 'JPEG inputs are written as PNG' in err and 'lossy' not in err
    assert not (anon / 'a.jpg').exists()
    enhanced = cv2.imread(str(anon / 'a.png'))
    assert np.array_equal(enhanced, anonymize_image(model, img, PEOPLE)['enhanced'])  # lossless: exactly y'

    full = torch.load(env.full, map_location='cpu', weights_only=False)
    no_pose = env.dir / 'no_pose.pth'
    torch.save({'state_dict': {k: v for k, v in full['state_dict'].items() if not k.startswith(POSE)}}, no_pose)
    assert main(['recover', '-i', str(anon), '-o', str(rec), *common(env, str(no_pose))]) == 0
    boxes = json.loads((anon / 'portraits.json').read_text())['files']['a.png']['boxes']
    assert np.array_equal(cv2.imread(str(rec / 'a.png')), recover_image(model, enhanced, boxes))

    assert main(['anonymize', '-i', str(src), '-o', str(forced), '--boxes', env.boxes, '--out-ext', 'jpg',
                 *common(env)]) == 0
    err = capsys.readouterr().err
    assert (forced / 'a.jpg').exists() and 'lossy format' in err and '--out-ext png' in err
    # continuing that folder by default would leave a.jpg (and its entry) beside a new a.png: refused, one line
    assert main(['anonymize', '-i', str(src), '-o', str(forced), '--boxes', env.boxes, *common(env)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'by an earlier run' in err and '--out-ext jpg' in err
    assert sorted(p.name for p in forced.iterdir()) == ['a.jpg', 'portraits.json', 'poses.json']
    from mmrecanon.apis import Anonymizer  # the API's recovery side needs no P either
    rec_side = Anonymizer.from_files(env.cfg, str(no_pose), purpose='recovery')
    assert rec_side.model.pose_loaded is False
    # with P's weights named, the authorised side can also find people (e.g. tools/analysis/video_stability.py)
    p_only = env.dir / 'p_only.pth'
    torch.save({'state_dict': part(full['state_dict'], POSE)}, p_only)
    both = Anonymizer.from_files(env.cfg, str(no_pose), pose_checkpoint=str(p_only), purpose='recovery')
    assert both.model.pose_loaded is True
    assert np.array_equal(rec_side.recover(enhanced, boxes), recover_image(model, enhanced, boxes))
    cv2.imwrite(str(src / 'a.png'), scene(6))  # a.jpg and a.png would both become a.png: refused, nothing written
    assert main(['anonymize', '-i', str(src), '-o', str(env.dir / 'jp_clash'), '--boxes', env.boxes,
                 *common(env)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('error: ') and 'would both be written' in err and '--out-ext' in err
    assert 'writes JPEG inputs as PNG' in err  # the clash comes from the renaming: the line says so
    assert not (env.dir / 'jp_clash').exists()


def test_cli_reads_from_the_config_whether_jpeg_inputs_are_renamed(env, capsys):
    """The job list is built once, from the config, before any weights are read: a clash the renaming makes is
    refused even with a checkpoint that is not one; a model without G_X/G_Y (nothing to recover) keeps JPEG."""
    from mmrecanon.models.recanon import ReCanon
    assert ReCanon.config_has_generators({}) and ReCanon.config_has_generators({'method': 'frozen_pose'})
    assert not ReCanon.config_has_generators({'method': 'conventional'})
    src = env.dir / 'cfg_jobs'
    src.mkdir()
    cv2.imwrite(str(src / 'a.jpg'), scene(7))
    cv2.imwrite(str(src / 'a.png'), scene(8))
    garbage = env.dir / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint')
    assert main(['anonymize', '-i', str(src), '-o', str(env.dir / 'cfg_jobs_out'), '--boxes', env.boxes,
                 *common(env, str(garbage))]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'would both be written' in err and 'writes JPEG inputs as PNG' in err
    # the same model made conventional through --cfg-options: A(x) only, JPEG stays JPEG, no note
    conv = ['--cfg-options', 'model.method=conventional', 'model.enhancer=None', 'model.recoverer=None',
            'model.disc_enhanced=None', 'model.disc_recovered=None']
    conv_ckpt = str(env.dir / 'conventional.pth')
    save_model(tiny_model_cfg(method='conventional', enhancer=None, recoverer=None, disc_enhanced=None,
                              disc_recovered=None), conv_ckpt)
    (src / 'a.png').unlink()
    out = env.dir / 'cfg_jobs_conv'
    assert main(['anonymize', '-i', str(src), '-o', str(out), '--boxes', env.boxes, *common(env, conv_ckpt),
                 *conv]) == 0
    err = capsys.readouterr().err
    assert (out / 'a.jpg').exists() and not (out / 'a.png').exists() and 'JPEG inputs' not in err
    # a config that is no ReCanon: one line, before any job is built
    other = env.dir / 'not_recanon.py'
    other.write_text("model = dict(type='TopdownPoseEstimator')\n")
    assert main(['anonymize', '-i', str(src), '-o', str(env.dir / 'cfg_jobs_other'), '--boxes', env.boxes,
                 '--config', str(other), '--checkpoint', env.full, '--no-progress']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'does not define a ReCanon model' in err


def test_export_camera_drops_recovery_weights(env):
    full = torch.load(env.full, map_location='cpu', weights_only=False)
    cam = torch.load(env.camera, map_location='cpu', weights_only=False)
    assert set(cam) == {'state_dict', 'meta'} and cam['meta']['mmrecanon_camera_export'] is True
    assert not [k for k in cam['state_dict'] if k.startswith(('recoverer.', 'disc_'))]
    expected = {k for k in full['state_dict'] if not k.startswith(('recoverer.', 'disc_'))}
    assert set(cam['state_dict']) == expected and any(k.startswith('enhancer.') for k in expected)


def test_cli_user_errors_exit_2_with_one_line(env, capsys):
    anon = env.dir / 'err_anon'
    anon.mkdir()
    cv2.imwrite(str(anon / 'a.png'), scene())
    (anon / 'portraits.json').write_text(json.dumps(
        {'format': 'mmrecanon-portraits/1', 'files': {'a.png': {'type': 'image', 'boxes': PORTRAITS}}}))
    # the real command in subprocesses (run concurrently: each pays the import time): the console script
    # installed by setup.py (pip install -e .) when present, and python -m mmrecanon.cli
    script = osp.join(osp.dirname(sys.executable), 'mmrecanon')
    launcher = [script] if osp.exists(script) else [sys.executable, '-m', 'mmrecanon.cli']
    cases = {
        'camera': (launcher + ['recover', '-i', str(anon), '-o', str(env.dir / 'err_rec'), '--config', env.cfg,
                               '--checkpoint', env.camera], 'no recovery weights (G_Y)'),
        'missing': ([sys.executable, '-m', 'mmrecanon.cli', 'anonymize', '-i', str(anon), '-o',
                     str(env.dir / 'err_out'), '--config', env.cfg, '--checkpoint', str(env.dir / 'nope.pth')],
                    '--checkpoint file not found'),
    }
    child_env = dict(os.environ, OMP_NUM_THREADS='1')
    procs = {k: subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(env.dir),
                                 env=child_env)
             for k, (a, _) in cases.items()}
    # in-process meanwhile: same exit code and one-line message
    in_process = {
        'same': (['anonymize', '-i', str(anon), '-o', str(anon), '--boxes', env.boxes, *common(env)],
                 'is the input location'),
        'overwrite': (['export-camera', env.full, env.full], 'must not overwrite the full checkpoint'),
        'usage': (['anonymize', '-i', str(anon)], 'the following arguments are required'),
        'boxes': (['anonymize', '-i', str(anon), '-o', str(env.dir / 'err_out'), '--boxes', env.cfg,
                   *common(env)], 'is not valid JSON'),
    }
    for key, (argv, msg) in in_process.items():
        assert main(argv) == 2, key
        err = capsys.readouterr().err
        assert err.count('\n') == 1 and err.startswith('error: ') and msg in err, (key, err)
    for key, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2, (key, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('error: ') and cases[key][1] in lines[0], (key, stderr)
        assert 'Traceback' not in stdout + stderr
    assert not (env.dir / 'err_rec').exists() and not (env.dir / 'err_out').exists()
    assert sorted(os.listdir(anon)) == ['a.png', 'portraits.json']  # nothing written next to the input


def test_cli_output_must_not_overwrite_inputs(env, capsys):
    root = env.dir / 'clash'
    (root / 'x' / 'x').mkdir(parents=True)
    cv2.imwrite(str(root / 'x' / 'a.png'), scene())
    cv2.imwrite(str(root / 'x' / 'x' / 'a.png'), scene(1))
    # IN = root/x, OUT = root: the output of x/a.png would be root/x/a.png, an input
    args = ['anonymize', '-i', str(root / 'x'), '-o', str(root), '--boxes', env.boxes, *common(env)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and 'would overwrite the input' in err
    assert sorted(os.listdir(root)) == ['x']
    # OUT inside IN is fine: OUT's subtree is not scanned as input
    assert main(['anonymize', '-i', str(root), '-o', str(root / 'x' / 'anon'), '--boxes', env.boxes,
                 *common(env)]) == 0
    files = json.loads((root / 'x' / 'anon' / 'portraits.json').read_text())['files']
    assert sorted(files) == ['x/a.png', 'x/x/a.png']


def test_bottomup_people_come_from_p_on_the_letterboxed_frame():
    from mmpose.registry import MODELS
    if 'YOLOv8PoseHead' not in MODELS.module_dict:
        pytest.importorskip('mmrecanon.models.yolo')
    pose = Config.fromfile('configs/_base_/pose/yolov8pose_n_coco.py').pose_estimator.to_dict()
    pose['test_cfg'].update(score_thr=0.0, max_per_img=5)
    # no test pipeline in this config: the letter-box size comes from the codec
    codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=(64, 64))
    cfg = Config(dict(model=tiny_model_cfg(pose_estimator=pose, pose_mode='bottomup', pose_codec=codec)))
    model = init_recanon(cfg)
    assert model.pose_input_size == (64, 64)
    img = scene()
    boxes = detect_people(model, img, score_thr=0.0)
    # P's raw boxes in the 64×64 letter-boxed input: 128×96 is scaled by 1/2 and centred vertically
    # (8 px of padding above), so image = 2 · input − (0, 16), then clipped to the frame
    from mmrecanon.apis.inference import _letterboxed
    inputs, sample = _letterboxed(model, img)
    assert sample.metainfo['input_scale'].tolist() == [128, 128]
    sample.set_metainfo(dict(input_center=np.array([32., 32.]), input_scale=np.array([64., 64.])))
    raw = model.pose.predict(inputs, [sample])[0]
    expected = raw.bboxes.reshape(-1, 2, 2) * 2 - np.array([0, 16])
    expected = expected.reshape(-1, 4).clip([0, 0, 0, 0], [W, H, W, H])
    keep = (expected[:, 2] > expected[:, 0]) & (expected[:, 3] > expected[:, 1])
    assert len(boxes) == keep.sum() > 0
    np.testing.assert_allclose(boxes, expected[keep], atol=1e-3)
    out = anonymize_image(model, img, score_thr=0.0)  # no boxes given: P finds the people itself
    assert len(out['boxes']) == len(boxes) and out['poses'].keypoints.shape[1:] == (K, 2)


# ---------------------------------------------------------------------------------------------- key lock
def test_cli_key_locked_round_trip_and_refusals(env, capsys):
    d = env.dir / 'keyed'
    d.mkdir()
    cfg = str(d / 'tiny_keyed.py')
    Config(dict(model=tiny_model_cfg(key_lock=dict(type='KeyedCarrier')), default_scope='mmpose')).dump(cfg)
    ckpt = str(d / 'keyed.pth')
    save_model(tiny_model_cfg(key_lock=dict(type='KeyedCarrier')), ckpt)
    key_file, other_key = str(d / 'cam.key'), str(d / 'other.key')
    assert main(['keygen', key_file]) == 0 and main(['keygen', other_key]) == 0
    assert main(['keygen', key_file]) == 2  # never overwrites a key
    assert 'never overwritten' in capsys.readouterr().err
    key_hex = [ln for ln in open(key_file).read().splitlines() if not ln.startswith('#')][0]
    src, anon, rec = d / 'in', d / 'anon', d / 'rec'
    src.mkdir()
    cv2.imwrite(str(src / 'a.png'), scene(5))
    args = ['--config', cfg, '--checkpoint', ckpt, '--no-progress']

    assert main(['anonymize', '-i', str(src), '-o', str(anon), '--boxes', env.boxes, *args]) == 2
    assert 'key-locked' in capsys.readouterr().err  # a key-locked model needs --key-file
    assert main(['anonymize', '-i', str(src), '-o', str(anon), '--boxes', env.boxes, *args,
                 '--key-file', key_file]) == 0
    sidecar_text = (anon / 'portraits.json').read_text()
    assert key_hex not in sidecar_text and key_hex not in (anon / 'poses.json').read_text()
    assert key_hex.encode() not in (anon / 'a.png').read_bytes()
    sidecar = json.loads(sidecar_text)
    entry = sidecar['files']['a.png']
    assert len(entry['nonces']) == len(entry['boxes']) == 2 and len(set(entry['nonces'])) == 2

    for extra, message in (([], 'key-locked'), (['--key-file', other_key], 'wrong key'),
                           (['--key-file', str(d / 'missing.key')], 'key file not found')):
        assert main(['recover', '-i', str(anon), '-o', str(rec), *args, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
        assert not rec.exists() or not os.listdir(rec)
    assert main(['recover', '-i', str(anon), '-o', str(rec), *common(env)]) == 2  # an unkeyed model
    assert 'are key-locked' in capsys.readouterr().err
    assert main(['recover', '-i', str(anon), '-o', str(rec), *args, '--key-file', key_file]) == 0
    model = init_recanon(cfg, ckpt)
    enhanced = cv2.imread(str(anon / 'a.png'))
    from mmrecanon.models.utils.keylock import read_key_file
    expected = recover_image(model, enhanced, entry['boxes'], read_key_file(key_file), entry['nonces'],
                             sidecar['key_check'])
    assert np.array_equal(cv2.imread(str(rec / 'a.png')), expected)
    wrong = recover_image(model, enhanced, entry['boxes'], read_key_file(other_key), entry['nonces'])
    assert not np.array_equal(wrong, expected)
    # resuming into the same folder with another key is refused; a key for an unkeyed model too
    assert main(['anonymize', '-i', str(src), '-o', str(anon), '--boxes', env.boxes, *args,
                 '--key-file', other_key]) == 2
    assert 'another key' in capsys.readouterr().err
    assert main(['anonymize', '-i', str(src), '-o', str(d / 'anon2'), '--boxes', env.boxes, *common(env),
                 '--key-file', key_file]) == 2
    assert 'not key-locked' in capsys.readouterr().err
