"""Fail closed (issue 16): nobody found, resume fingerprints, export-camera overwrite, sidecar/boxes names.

Real COCO images of mmpose-tiny (``../shared/data``); the tiny ReCanon of tests/test_cli.py (top-down
RTMPose-t P, person boxes from ``--boxes``) and, where people must be *detected*, the same model with a
bottom-up YOLOv8-pose P that finds nobody.
"""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmrecanon.apis import anonymize_image, init_recanon, read_image, recover_image
from mmrecanon.apis.inference import desensitize_frame
from mmrecanon.cli import main
from test_cli import (PEOPLE, common, env, make_video, model, one_thread, read_video, save_model, scene,
                      tiny_model_cfg)

FIXTURES = (env, model, one_thread)  # tests/test_cli.py's tiny model and CLI folder, reused here

COCO = ['000000000785.jpg', '000000040083.jpg', '000000196141.jpg', '000000197388.jpg']
# the person of 000000000785.jpg (COCO annotation, xywh [280.79, 44.73, 218.7, 346.68]) as xyxy
PERSON_785 = [280.79, 44.73, 499.49, 391.41]


@pytest.fixture(scope='module')
def coco(tiny_coco, tmp_path_factory):
    d = tmp_path_factory.mktemp('coco')
    for name in COCO:
        shutil.copy(tiny_coco / name, d / name)
    return d


def high_freq(img):
    return np.abs(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F)).mean()


def snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}


# ---------------------------------------------------------------------------------------------- 1. nobody
@pytest.fixture(scope='module')
def bottomup(env):
    """The tiny model with a bottom-up YOLOv8-pose P: it detects people itself (no --boxes)."""
    from mmpose.registry import MODELS
    if 'YOLOv8PoseHead' not in MODELS.module_dict:
        pytest.importorskip('mmrecanon.models.yolo')
    pose = Config.fromfile('configs/_base_/pose/yolov8pose_n_coco.py').pose_estimator.to_dict()
    pose['test_cfg'].update(score_thr=0.0, max_per_img=5)
    cfg = tiny_model_cfg(pose_estimator=pose, pose_mode='bottomup',
                         pose_codec=dict(type='YOLOXPoseAnnotationProcessor', input_size=(64, 64)))
    path, ckpt = str(env.dir / 'bottomup.py'), str(env.dir / 'bottomup.pth')
    Config(dict(model=cfg, default_scope='mmpose')).dump(path)
    save_model(cfg, ckpt)
    return path, ckpt


def test_desensitize_frame_is_a_of_the_whole_frame(model, tiny_coco):
    img = read_image(str(tiny_coco / COCO[0]))  # 640×425
    out = desensitize_frame(model, img)
    assert out.shape == img.shape and out.dtype == np.uint8
    # A = blur r=2 on the frame resized to 32 px (portrait_size): ≈ r 40 px in the frame, every pixel replaced
    assert high_freq(out) < 0.05 * high_freq(img)
    assert np.abs(out.astype(int) - img).mean() > 20
    assert abs(out.mean() - img.mean()) < 3  # a blur keeps the brightness
    # the same as A on the frame down-sampled by hand to 32×21 (cv2 INTER_AREA), up-sampled back
    small = cv2.resize(img, (32, 21), interpolation=cv2.INTER_AREA).astype(np.float32)
    x = torch.from_numpy(small / 127.5 - 1).permute(2, 0, 1)[None]
    a = ((model.desensitizer(x)[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
    expected = cv2.resize(a, (640, 425), interpolation=cv2.INTER_LINEAR)
    assert np.abs(out - expected).mean() < 4


def test_nobody_found_desensitizes_the_whole_frame_by_default(env, bottomup, coco, capsys):
    """Issue 16 #1: detection finds none of the 14 people of 4 COCO images; no original may be written."""
    cfg, ckpt = bottomup
    out, rec = env.dir / 'nobody_out', env.dir / 'nobody_rec'
    args = ['anonymize', '-i', str(coco), '-o', str(out), '--config', cfg, '--checkpoint', ckpt,
            '--score-thr', '0.999', '--out-ext', 'png', '--no-progress']
    assert main(args) == 3
    captured = capsys.readouterr()
    assert 'summary: 4 file(s), 0 people anonymized, 4 file(s) with nobody found' in captured.out
    assert captured.err.count('nobody found: wrote the whole image desensitized') == 4
    files = json.loads((out / 'portraits.json').read_text())['files']
    bu = init_recanon(cfg, ckpt)
    for name in COCO:
        png = name.replace('.jpg', '.png')
        entry = files[png]
        assert (entry['people'], entry['nobody'], entry['boxes']) == (0, 'desensitized', [])
        original = read_image(str(coco / name))
        written = cv2.imread(str(out / png))
        assert np.array_equal(written, desensitize_frame(bu, original))
        assert high_freq(written) < 0.05 * high_freq(original)
    # recover leaves them alone and says so
    assert main(['recover', '-i', str(out), '-o', str(rec), '--config', cfg, '--checkpoint', ckpt,
                 '--no-progress']) == 0
    captured = capsys.readouterr()
    assert captured.out.count('not recovered: nobody was found') == 4
    assert '0 file(s), 0 already done, 4 not recoverable' in captured.out
    assert os.listdir(rec) == []
    # resume: the same command redoes nothing and still reports the files with nobody
    assert main(args) == 3
    assert '4 of 4 file(s) already done' in capsys.readouterr().out


def test_if_nobody_skip_and_keep_and_stale_outputs(env, model, coco, capsys):
    """Explicit [] follows --if-nobody; skip writes nothing (and removes an earlier run's original)."""
    boxes = env.dir / 'nobody_boxes.json'
    boxes.write_text(json.dumps({COCO[0]: [], COCO[1]: [[38.08, 110.95, 212.79, 285.66]]}))
    src = env.dir / 'two'
    src.mkdir()
    for name in COCO[:2]:
        shutil.copy(coco / name, src / name)
    out = env.dir / 'two_out'
    base = ['anonymize', '-i', str(src), '-o', str(out), '--boxes', str(boxes), '--out-ext', 'png', *common(env)]
    first, second = COCO[0].replace('.jpg', '.png'), COCO[1].replace('.jpg', '.png')

    assert main(base + ['--if-nobody', 'keep']) == 0  # explicit opt-in: exit 0, a warning
    captured = capsys.readouterr()
    assert f'{COCO[0]}: nobody found: wrote the ORIGINAL image unchanged (--if-nobody keep)' in captured.err
    assert f'{COCO[1]}: 1 person anonymized' in captured.out
    assert 'summary: 2 file(s), 1 people anonymized, 1 file(s) with nobody found' in captured.out
    assert np.array_equal(cv2.imread(str(out / first)), read_image(str(src / COCO[0])))
    files = json.loads((out / 'portraits.json').read_text())['files']
    assert files[first]['nobody'] == 'kept' and files[second]['people'] == 1

    assert main(base + ['--if-nobody', 'skip']) == 3  # same folder: --if-nobody changed → redone
    captured = capsys.readouterr()
    assert f'redoing {first}: --if-nobody differ(s)' in captured.out
    assert f'{COCO[0]}: nobody found: no output written (--if-nobody skip)' in captured.err
    assert not (out / first).exists()  # the original written by the keep run is gone
    files = json.loads((out / 'portraits.json').read_text())['files']
    assert sorted(files) == [second] and files[second]['produced_by']['if_nobody'] == 'skip'
    poses = json.loads((out / 'poses.json').read_text())
    assert {p['image'] for p in poses} == {second}
    enhanced = anonymize_image(model, read_image(str(src / COCO[1])), [[38.08, 110.95, 212.79, 285.66]])
    assert np.array_equal(cv2.imread(str(out / second)), enhanced['enhanced'])


def test_boxes_entry_that_matches_no_input_is_an_error(env, coco, capsys):
    out = env.dir / 'unmatched_out'
    for data, message in (({COCO[0]: [PERSON_785], 'street_0785.jpg': [PERSON_785]},
                           "the entry 'street_0785.jpg' matches no input"),
                          ({'../../escaped_785.png': [PERSON_785]}, 'contains ".."'),
                          ({str(coco / COCO[0]): [PERSON_785]}, 'is an absolute path'),
                          ({COCO[0]: {'0': [PERSON_785]}}, 'gives per-frame boxes, but')):
        boxes = env.dir / 'unmatched.json'
        boxes.write_text(json.dumps(data))
        assert main(['anonymize', '-i', str(coco), '-o', str(out), '--boxes', str(boxes), *common(env)]) == 2
        err = capsys.readouterr().err
        assert err.startswith('error: ') and err.count('\n') == 1 and message in err, err
        assert not out.exists()


def test_video_frames_with_nobody_are_desensitized_whole(env, model, capsys):
    src, out, rec = env.dir / 'vnobody', env.dir / 'vnobody_out', env.dir / 'vnobody_rec'
    src.mkdir()
    make_video(src / 'clip.mp4')
    boxes = env.dir / 'vnobody_boxes.json'
    boxes.write_text(json.dumps({'clip.mp4': {str(i): [] if i < 3 else PEOPLE[:1] for i in range(12)}}))
    assert main(['anonymize', '-i', str(src), '-o', str(out), '--boxes', str(boxes), *common(env)]) == 3
    captured = capsys.readouterr()
    assert 'clip.mp4: nobody found in 3 of 12 frames (0, 1, 2): desensitized whole' in captured.err
    assert 'summary: 1 file(s), 9 people anonymized, 1 file(s) with nobody found' in captured.out
    entry = json.loads((out / 'portraits.json').read_text())['files']['clip.mp4']
    assert (entry['people'], entry['nobody'], entry['nobody_frames']) == (9, 'desensitized', [0, 1, 2])
    assert entry['frames'][0] == [] and len(entry['frames'][3]) == 1
    before, after = read_video(src / 'clip.mp4'), read_video(out / 'clip.mp4')
    assert len(after) == 12
    for i in range(3):  # whole frame A(x) (up to mp4v noise); the textured person region is blurred away
        expected = desensitize_frame(model, before[i].astype(np.uint8)).astype(np.int16)
        assert np.abs(after[i] - expected).mean() < 3
        assert np.abs(after[i][20:76, 20:52] - before[i][20:76, 20:52]).mean() > 30
    assert np.abs(after[5][:, 80:] - before[5][:, 80:]).mean() < 4  # a frame with a person: background kept
    assert main(['recover', '-i', str(out), '-o', str(rec), *common(env)]) == 0
    assert '3 frame(s) were desensitized whole when nobody was found: left as they are' in capsys.readouterr().out
    recovered = read_video(rec / 'clip.mp4')
    assert len(recovered) == 12
    for i in range(3):  # left as they are (up to one more mp4v re-encoding)
        assert np.abs(recovered[i] - after[i]).mean() < 3


# ---------------------------------------------------------------------------------------------- 2. resume
def test_resume_redoes_a_file_when_what_produced_it_changed(env, model, coco, capsys):
    """Issue 16 #2: corrected --boxes into the same folder must anonymize the person, not 'already done'."""
    src, out = env.dir / 'resume', env.dir / 'resume_out'
    src.mkdir()
    shutil.copy(coco / COCO[0], src / COCO[0])
    png = COCO[0].replace('.jpg', '.png')
    img = read_image(str(src / COCO[0]))
    boxes = env.dir / 'resume_boxes.json'

    def run(*extra, ckpt=None):
        return main(['anonymize', '-i', str(src), '-o', str(out), '--boxes', str(boxes), '--out-ext', 'png',
                     *common(env, ckpt), *extra])

    boxes.write_text(json.dumps({COCO[0]: [[0, 0, 40, 60]]}))  # wrong: misses the person
    assert run() == 0
    wrong = cv2.imread(str(out / png))
    x1, y1, x2, y2 = (int(v) for v in PERSON_785)
    assert np.array_equal(wrong[y1:y2, x1:x2], img[y1:y2, x1:x2])  # the person is still visible
    capsys.readouterr()

    boxes.write_text(json.dumps({COCO[0]: [PERSON_785]}))  # corrected
    assert run() == 0
    captured = capsys.readouterr()
    assert f'redoing {png}: person boxes / detector differ(s) from the run that wrote it' in captured.out
    assert 'anonymized 1 file(s), 0 already done' in captured.out
    expected = anonymize_image(model, img, [PERSON_785])
    written = cv2.imread(str(out / png))
    assert np.array_equal(written, expected['enhanced'])
    assert np.abs(written[y1:y2, x1:x2].astype(int) - img[y1:y2, x1:x2]).mean() > 10  # the person is replaced
    entry = json.loads((out / 'portraits.json').read_text())['files'][png]
    np.testing.assert_allclose(entry['boxes'], expected['boxes'], atol=1e-4)
    fp = entry['produced_by']
    from mmrecanon.io.sidecar import sha256_file
    assert fp['checkpoint'] == sha256_file(env.full) and fp['if_nobody'] == 'desensitize'
    assert set(fp) == {'checkpoint', 'config', 'people', 'score_thr', 'if_nobody'}

    stamp = os.stat(out / png).st_mtime_ns
    assert run() == 0  # nothing changed: skipped
    assert '1 of 1 file(s) already done' in capsys.readouterr().out
    assert os.stat(out / png).st_mtime_ns == stamp

    assert run(ckpt=env.camera) == 0  # another checkpoint file
    assert f'redoing {png}: checkpoint differ(s)' in capsys.readouterr().out
    assert run('--cfg-options', 'model.portrait_margin=1.5', ckpt=env.camera) == 0  # another config
    assert f'redoing {png}: config differ(s)' in capsys.readouterr().out
    box = json.loads((out / 'portraits.json').read_text())['files'][png]['boxes'][0]
    assert box[2] - box[0] == pytest.approx(1.5 * (PERSON_785[3] - PERSON_785[1]), abs=1e-3)  # margin 1.5 now
    # an entry written by an older mmrecanon (no produced_by) is redone
    data = json.loads((out / 'portraits.json').read_text())
    del data['files'][png]['produced_by']
    (out / 'portraits.json').write_text(json.dumps(data))
    assert run('--cfg-options', 'model.portrait_margin=1.5', ckpt=env.camera) == 0
    assert f'redoing {png}: its sidecar entry does not record what produced it' in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- 3. export
def test_export_camera_refuses_an_existing_out_and_writes_atomically(env, capsys, monkeypatch):
    only_g_y = env.dir / 'only_copy.pth'
    shutil.copy(env.full, only_g_y)
    before = only_g_y.read_bytes()
    assert main(['export-camera', env.full, str(only_g_y)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'exists and is not replaced' in err and '--force' in err
    assert only_g_y.read_bytes() == before  # byte for byte

    def broken_save(obj, path, *a, **k):  # the disk fills up half-way through
        with open(path, 'wb') as f:
            f.write(b'PK\x03\x04 half a checkpoint')
        raise OSError(28, 'No space left on device', str(path))

    monkeypatch.setattr(torch, 'save', broken_save)
    assert main(['export-camera', env.full, str(only_g_y), '--force']) == 2
    assert 'No space left on device' in capsys.readouterr().err
    assert only_g_y.read_bytes() == before  # atomic: the old file is intact
    assert sorted(p.name for p in env.dir.iterdir() if p.name.startswith('.only_copy')) == []
    monkeypatch.undo()

    assert main(['export-camera', env.full, str(only_g_y), '--force']) == 0
    cam = torch.load(only_g_y, map_location='cpu', weights_only=False)
    assert cam['meta']['mmrecanon_camera_export'] is True
    assert not [k for k in cam['state_dict'] if k.startswith('recoverer.')]


# ---------------------------------------------------------------------------------------------- 4. names
def test_sidecar_names_must_stay_inside_their_folders(env, model, coco, capsys):
    """Issue 16 #4: portraits.json entries like '../../escaped_785.png' must not read or write outside."""
    root = env.dir / 'trav'
    src, anon, rec = root / 'in', root / 'a' / 'anon', root / 'r' / 'x' / 'rec'
    src.mkdir(parents=True)
    shutil.copy(coco / COCO[0], src / 'a.jpg')
    boxes = env.dir / 'trav_boxes.json'
    boxes.write_text(json.dumps([PERSON_785]))
    assert main(['anonymize', '-i', str(src), '-o', str(anon), '--boxes', str(boxes), '--out-ext', 'png',
                 *common(env)]) == 0
    # files outside -i that hostile names point to: anon/../../escaped_785.png and a symbolic link
    outside_in = root / 'escaped_785.png'
    shutil.copy(anon / 'a.png', outside_in)
    shutil.copy(anon / 'a.png', root / 'elsewhere.png')
    os.symlink(root / 'elsewhere.png', anon / 'link.png')
    sidecar = json.loads((anon / 'portraits.json').read_text())
    entry = sidecar['files']['a.png']
    for name in ('../../escaped_785.png', str(outside_in), 'link.png'):
        sidecar['files'][name] = entry
    (anon / 'portraits.json').write_text(json.dumps(sidecar))
    outside_before = snapshot(root / 'in') | {outside_in: outside_in.read_bytes()}

    assert main(['recover', '-i', str(anon), '-o', str(rec), *common(env)]) == 1
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.startswith('skipping the entry')]
    assert len(lines) == 3 and all('nothing read or written' in ln for ln in lines)
    assert any("'../../escaped_785.png'" in ln and 'contains ".."' in ln for ln in lines)
    assert any('is an absolute path' in ln for ln in lines)
    assert any("'link.png'" in ln and 'resolves outside' in ln for ln in lines)
    assert not (root / 'r' / 'escaped_785.png').exists()  # rec/../../escaped_785.png
    assert sorted(os.listdir(rec)) == ['a.png', 'recovered.json']  # the valid entry is recovered
    assert np.array_equal(cv2.imread(str(rec / 'a.png')),
                          recover_image(model, cv2.imread(str(anon / 'a.png')), entry['boxes']))
    assert snapshot(root / 'in') | {outside_in: outside_in.read_bytes()} == outside_before

    # anonymize into that folder: the hostile entries of its sidecar are dropped, with a warning
    assert main(['anonymize', '-i', str(src), '-o', str(anon), '--boxes', str(boxes), '--out-ext', 'png',
                 *common(env)]) == 0
    assert capsys.readouterr().err.count('warning: dropping the entry') == 3
    assert sorted(json.loads((anon / 'portraits.json').read_text())['files']) == ['a.png']


# ---------------------------------------------------------------------------------------------- 7, 13
def test_inverted_zero_and_out_of_range_boxes(env, model, capsys):
    src = env.dir / 'inv'
    src.mkdir()
    cv2.imwrite(str(src / 'a.png'), scene())
    boxes = env.dir / 'inv_boxes.json'
    boxes.write_text(json.dumps([[52, 76, 20, 20]]))  # x2 < x1 and y2 < y1: PEOPLE[0] inverted
    assert main(['anonymize', '-i', str(src), '-o', str(env.dir / 'inv_out'), '--boxes', str(boxes),
                 *common(env)]) == 0
    captured = capsys.readouterr()
    assert 'box 0 [52, 76, 20, 20] is inverted (x2 < x1 or y2 < y1): corners swapped' in captured.err
    assert 'a.png: 1 person anonymized' in captured.out
    written = cv2.imread(str(env.dir / 'inv_out' / 'a.png'))
    assert np.array_equal(written, anonymize_image(model, scene(), PEOPLE[:1])['enhanced'])
    for text, message in (('[[10, 10, 10, 40]]', 'has no area'),
                          ('[[1e308, 0, 20, 20]]', 'coordinate 1e+308 is out of range'),
                          ('[[1e400, 0, 20, 20]]', 'coordinate Infinity is out of range'),
                          ('[[NaN, 0, 20, 20]]', 'has a NaN coordinate')):
        boxes.write_text(text)
        assert main(['anonymize', '-i', str(src), '-o', str(env.dir / 'inv_bad'), '--boxes', str(boxes),
                     *common(env)]) == 2
        err = capsys.readouterr().err
        assert err.count('\n') == 1 and message in err, err
        assert not (env.dir / 'inv_bad').exists()


def test_unwritable_output_is_found_before_the_model_loads(env, capsys, monkeypatch):
    import mmrecanon.cli as cli

    def no_model(args):
        raise AssertionError('the model was loaded before the output folder was checked')

    monkeypatch.setattr(cli, '_load_model', no_model)
    src = env.dir / 'unw'
    src.mkdir()
    cv2.imwrite(str(src / 'a.png'), scene())
    (env.dir / 'a_file').write_text('x')
    cases = [(str(env.dir / 'a_file' / 'out'), 'is not a folder'), ('/proc/mmrecanon_out', 'is not writable')]
    for out, message in cases:
        for command in ('anonymize', 'recover'):
            assert main([command, '-i', str(src), '-o', out, '--boxes', env.boxes, *common(env)]
                        if command == 'anonymize' else [command, '-i', str(src), '-o', out, *common(env)]) == 2
            err = capsys.readouterr().err
            assert err.count('\n') == 1 and message in err, (command, err)
