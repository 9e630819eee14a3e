"""Issue 16, items 5, 6, 8-12: strict checkpoints in tools/test.py, corrupt videos, poses for given boxes,
recover fingerprints and digests, one-line config errors, fast start-up, lossless video.

Real COCO images of mmpose-tiny (``../shared/data``); the tiny ReCanon of tests/test_cli.py (top-down
RTMPose-t P, person boxes from ``--boxes``) and the bottom-up variant of tests/test_cli_failclosed.py.
Commands whose terminal output or start-up is the point run in subprocesses; the rest in-process.
"""
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmrecanon.apis import anonymize_image, init_recanon, read_image, recover_image
from mmrecanon.cli import main
from mmrecanon.io.poses import box_iou, match_boxes, pose_entries
from test_cli import env, model, one_thread, save_model, tiny_model_cfg  # noqa: F401  (fixtures)
from test_cli_failclosed import COCO, PERSON_785, bottomup, coco  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]
TINY_CFG = ROOT / 'tests' / 'configs' / 'recanon_tiny.py'
DEPLOY_CFG = ROOT / 'configs' / 'deploy' / 'enhancer_onnxruntime_static-128x128.py'
CPU_CFG = ROOT / 'configs' / 'cpu' / 'recanon_blur_people-mini.py'


def tool(name):
    spec = importlib.util.spec_from_file_location(f'mmrecanon_tools_{name}', ROOT / 'tools' / f'{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def one_line_error(err: str, message: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and message in lines[0], err
    assert 'Traceback' not in err


def run_cli(*args, env=None, timeout=600):
    # main() run in-process by other tests set the quiet-decoder variables in this process: not inherited
    clean = {k: v for k, v in os.environ.items() if k not in ('OPENCV_FFMPEG_LOGLEVEL', 'OPENCV_LOG_LEVEL')}
    return subprocess.run([sys.executable, '-m', 'mmrecanon.cli', *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(clean, OMP_NUM_THREADS='1', **(env or {})))


def common(env, ckpt=None):
    return ['--config', env.cfg, '--checkpoint', ckpt or env.full, '--no-progress']


# ------------------------------------------------------------------------- 5. tools/test.py strict
@pytest.fixture(scope='module')
def tools_test():
    return tool('test')


def test_test_py_refuses_checkpoints_that_do_not_fit(env, tools_test, tmp_path, capsys):
    sd = torch.load(env.full, map_location='cpu', weights_only=False)['state_dict']
    key = next(k for k in sd if k.startswith('enhancer.') and sd[k].ndim == 4)
    pose_key = next(k for k in sd if k.startswith('pose_estimator.'))
    cases = {
        'shape': ({**sd, key: torch.zeros(3, 3, 1, 1)}, f'1 weights of another shape (e.g. {key})'),
        'unexpected': ({**sd, 'enhancer.extra.weight': torch.zeros(1)},
                       '1 weights unexpected (e.g. enhancer.extra.weight)'),
        'missing': ({k: v for k, v in sd.items() if k != pose_key}, f'1 weights missing (e.g. {pose_key})'),
    }
    for name, (state, message) in cases.items():
        ckpt, work = tmp_path / f'{name}.pth', tmp_path / f'work_{name}'
        torch.save({'state_dict': state, 'meta': {}}, ckpt)
        with pytest.raises(SystemExit) as exit_:
            tools_test.main([str(TINY_CFG), str(ckpt), '--work-dir', str(work)])
        assert exit_.value.code == 2, name
        err = capsys.readouterr().err
        one_line_error(err, f'checkpoint {ckpt} does not fit the model of {TINY_CFG}: {message}')
        assert 'nothing was tested' in err and not (work / 'tables.md').exists()
    # the full checkpoint fits (discriminators and zero-shot P may be absent; a camera export may not)
    from mmrecanon.runtime import build_runner
    runner = build_runner(str(TINY_CFG), work_dir=str(tmp_path / 'fits'))
    own = runner.model.state_dict()
    assert tools_test.checkpoint_mismatch(own, sd) == []
    no_disc = {k: v for k, v in sd.items() if not k.startswith(('disc_', 'zeroshot_'))}
    assert tools_test.checkpoint_mismatch(own, no_disc) == []
    assert tools_test.checkpoint_mismatch(own, {k: v for k, v in sd.items() if not k.startswith('recoverer.')})


def test_test_py_refuses_a_camera_export(env, tmp_path):
    """Issue 16 #5: a camera export has no G_Y; tools/test.py used to evaluate a random G_Y."""
    work = tmp_path / 'work'
    proc = subprocess.run([sys.executable, 'tools/test.py', str(TINY_CFG), env.camera, '--work-dir', str(work)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f'error: checkpoint {env.camera} does not fit the model of {TINY_CFG}: ')
    assert 'weights missing (e.g. recoverer.' in lines[0]
    assert 'it is a camera export (mmrecanon export-camera' in lines[0]
    assert not (work / 'tables.md').exists() and '| ' not in proc.stdout  # no tables printed


# ------------------------------------------------------------------------- 10. one-line config errors
@pytest.fixture(scope='module')
def bad_configs(tmp_path_factory):
    d = tmp_path_factory.mktemp('badcfg')
    (d / 'list.json').write_text('[{"model": {"type": "ReCanon"}}]')
    (d / 'syntax.py').write_text("model = dict(type='ReCanon',\n    enhancer=dict(\n")
    return {'list': (str(d / 'list.json'), 'must hold an object of settings'),
            'syntax': (str(d / 'syntax.py'), 'is not valid Python: ')}


def test_broken_configs_are_one_line_errors_in_the_cli(env, coco, bad_configs, tmp_path, capsys):  # noqa: F811
    for name, (cfg, message) in bad_configs.items():
        for command in ('anonymize', 'recover'):
            out = tmp_path / f'{command}_{name}'
            argv = [command, '-i', str(coco), '-o', str(out), '--config', cfg, '--checkpoint', env.full,
                    '--no-progress']
            assert main(argv + (['--boxes', env.boxes] if command == 'anonymize' else [])) == 2, (name, command)
            one_line_error(capsys.readouterr().err, f'config {cfg} {message}')
            assert not out.exists()
    assert main(['anonymize', '-i', str(coco), '-o', str(tmp_path / 'o'), '--boxes', env.boxes, *common(env),
                 '--cfg-options', 'model.portrait_margin']) == 2
    one_line_error(capsys.readouterr().err, "--cfg-options 'model.portrait_margin': expected KEY=VALUE")


def test_broken_configs_and_options_are_one_line_errors_in_test_py(env, tools_test, bad_configs, tmp_path, capsys):
    cases = [([bad_configs['list'][0], env.full], bad_configs['list'][1]),
             ([bad_configs['syntax'][0], env.full], 'is not valid Python: '),
             ([str(TINY_CFG), env.full, '--cfg-options', 'foo'], "--cfg-options 'foo': expected KEY=VALUE")]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_:
            tools_test.main(argv + ['--work-dir', str(tmp_path / 'w')])
        assert exit_.value.code == 2
        one_line_error(capsys.readouterr().err, message)


def test_deploy_py_random_checkpoint_and_work_dir_file(tmp_path, capsys):
    pytest.importorskip('mmdeploy')
    deploy_tool = tool('deploy')
    junk = tmp_path / 'random.pth'
    junk.write_bytes(np.random.RandomState(0).bytes(4096))
    assert deploy_tool.main([str(DEPLOY_CFG), str(CPU_CFG), str(junk), '--work-dir', str(tmp_path / 'w')]) == 2
    one_line_error(capsys.readouterr().err, f'cannot read checkpoint {junk}: ')
    proc = subprocess.run([sys.executable, 'tools/deploy.py', str(DEPLOY_CFG), str(CPU_CFG), str(junk), '--work-dir',
                           str(tmp_path / 'w')], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2  # the real command: nothing else on stderr (no library warning either)
    one_line_error(proc.stderr, f"cannot read checkpoint {junk}: UnpicklingError: invalid load key")
    ckpt = tmp_path / 'ok.pth'
    torch.save({'state_dict': {'enhancer.x': torch.zeros(1)}}, ckpt)
    a_file = tmp_path / 'a_file'
    a_file.write_text('not a folder')
    assert deploy_tool.main([str(DEPLOY_CFG), str(CPU_CFG), str(ckpt), '--work-dir', str(a_file)]) == 2
    one_line_error(capsys.readouterr().err, f'--work-dir {a_file} exists and is not a folder')
    assert a_file.read_text() == 'not a folder'


# ------------------------------------------------------------------------- 11. start-up
def imported_modules(stderr: str) -> set:
    """Module names of ``python -X importtime`` output."""
    return {ln.split('|')[-1].strip() for ln in stderr.splitlines() if ln.startswith('import time:')}


def test_help_keygen_and_usage_errors_do_not_import_torch(tmp_path):
    key = tmp_path / 'cam.key'
    cases = [(['--help'], 0, 'usage: mmrecanon'), (['anonymize', '--help'], 0, '--if-nobody'),
             (['keygen', str(key)], 0, 'wrote'), (['anonymize', '-i', 'x'], 2, 'the following arguments are required'),
             (['anonymize', '-i', 'x', '-o', 'y', '--config', 'c', '--checkpoint', 'k', '--cfg-options', 'a'], 2,
              "'a': expected KEY=VALUE")]
    for argv, code, text in cases:
        proc = subprocess.run([sys.executable, '-X', 'importtime', '-m', 'mmrecanon.cli', *argv], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == code, (argv, proc.stderr[-2000:])
        assert text in proc.stdout + proc.stderr, argv
        heavy = {m for m in imported_modules(proc.stderr) if m.split('.')[0] in ('torch', 'mmengine', 'mmpose', 'cv2')}
        assert not heavy, (argv, sorted(heavy)[:5])
    from mmrecanon.models.utils.keylock import check_value, read_key_file
    assert len(read_key_file(str(key))) == 32 and oct(key.stat().st_mode & 0o777) == '0o600'
    from mmrecanon.io import keyfile
    for k in (b'\x00' * 32, bytes(range(32)), os.urandom(32)):
        assert keyfile.check_value(k) == check_value(k)


def test_the_package_still_registers_everything_on_import():
    code = ('import sys, mmrecanon; from mmpose.registry import MODELS; '
            'assert "torch" in sys.modules and "ReCanon" in MODELS.module_dict; '
            'import os; assert os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] == "1"; print("ok")')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'})
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr[-2000:]


# ------------------------------------------------------------------------- 6. corrupt MP4
def _boxes_of(data: bytes):
    i, out = 0, {}
    while i + 8 <= len(data):
        size, kind = struct.unpack('>I4s', data[i:i + 8])
        out[kind] = (i, size)
        i += max(size, 8)
    return out


def moov_first(data: bytes) -> bytes:
    """OpenCV writes MP4 with the index (moov) last; move it first (as 'faststart' does), so that a
    truncated file still announces all its frames."""
    boxes = _boxes_of(data)
    mi, ms = boxes[b'moov']
    moov = bytearray(data[mi:mi + ms])
    j = moov.find(b'stco')
    for e in range(struct.unpack('>I', moov[j + 8:j + 12])[0]):  # chunk offsets move by len(moov)
        p = j + 12 + 4 * e
        moov[p:p + 4] = struct.pack('>I', struct.unpack('>I', moov[p:p + 4])[0] + ms)
    start = boxes[b'free'][0] if b'free' in boxes else boxes[b'mdat'][0]
    return data[:start] + bytes(moov) + data[start:mi]


def decoded(path) -> int:
    cap, n = cv2.VideoCapture(str(path)), 0
    while cap.read()[0]:
        n += 1
    return n


def test_truncated_mp4_reports_the_frame_count_quietly(env, tiny_coco, tmp_path):
    """Issue 16 #6: header 30 frames, fewer decode: a warning with both counts, no FFmpeg noise."""
    src = tmp_path / 'in'
    src.mkdir()
    photo = cv2.resize(read_image(str(tiny_coco / COCO[0])), (128, 96))
    writer = cv2.VideoWriter(str(tmp_path / 'full.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 10, (128, 96))
    for i in range(30):
        writer.write(np.roll(photo, 2 * i, axis=1))
    writer.release()
    data = moov_first((tmp_path / 'full.mp4').read_bytes())
    (src / 'clip.mp4').write_bytes(data[:int(len(data) * 0.4)])
    n = decoded(src / 'clip.mp4')
    cap = cv2.VideoCapture(str(src / 'clip.mp4'))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 30 and 0 < n < 30
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps([[40, 10, 90, 90]]))
    out = tmp_path / 'out'
    proc = run_cli('anonymize', '-i', src, '-o', out, '--boxes', boxes, *common(env))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        'warning: 1 output(s) in a lossy format (e.g. clip.mp4): the people in them cannot be recovered (recovery '
        "needs the exact y'); for recoverable outputs use --out-ext png (images) and --fourcc FFV1 or .avi (videos)",
        f'warning: clip.mp4: {n} of 30 frames decoded (the header announces 30; the file is truncated or corrupt): '
        f'the output has {n} frames']
    assert f'clip.mp4: {n} frames, {n} people anonymized' in proc.stdout
    entry = json.loads((out / 'portraits.json').read_text())['files']['clip.mp4']
    assert entry['header_frames'] == 30 and len(entry['frames']) == n
    assert decoded(out / 'clip.mp4') == n
    # the decoder noise is there, and shown with MMRECANON_DEBUG=1
    debug = run_cli('anonymize', '-i', src, '-o', tmp_path / 'out_debug', '--boxes', boxes, *common(env),
                    env={'MMRECANON_DEBUG': '1'})
    assert debug.returncode == 0 and ('partial file' in debug.stderr or '@ 0x' in debug.stderr), debug.stderr


# ------------------------------------------------------------------------- 8. poses for given boxes
def test_match_boxes_greedy_by_iou():
    given = [[0, 0, 10, 10], [20, 0, 30, 10], [100, 100, 110, 110]]
    detected = [[21, 0, 31, 10], [0, 0, 10, 9], [1, 1, 11, 11], [50, 50, 60, 60]]
    iou = box_iou(given, detected)
    assert iou[0, 1] == pytest.approx(0.9) and iou[0, 2] == pytest.approx(81 / 119)
    assert iou[1, 0] == pytest.approx(90 / 110) and iou[2].max() == 0
    # box 0 takes detection 1 (IoU 0.9 beats 0.68), box 1 detection 0, box 2 nothing; detection 3 unused
    assert match_boxes(given, detected) == [1, 0, None]
    # one detection for two boxes: the better overlap wins, the other box gets none
    assert match_boxes([[0, 0, 10, 10], [2, 0, 12, 10]], [[1, 0, 11, 10]]) == [0, None]
    assert match_boxes([[0, 0, 10, 10]], [[6, 0, 16, 10]]) == [None]  # IoU 4/16 = 0.25 < 0.3
    assert match_boxes([[0, 0, 10, 10]], [[5, 0, 15, 10]], thr=0.3) == [0]  # IoU 1/3
    assert match_boxes([], detected) == [] and match_boxes(given, []) == [None, None, None]


def _instances(boxes, scores):
    k = 17
    kpts = np.stack([np.stack([np.linspace(b[0], b[2], k), np.linspace(b[1], b[3], k)], 1) for b in boxes])
    return InstanceData(bboxes=np.asarray(boxes, np.float32), bbox_scores=np.asarray(scores, np.float32),
                        keypoints=kpts.astype(np.float32), keypoint_scores=np.full((len(boxes), k), 0.5, np.float32))


def test_pose_entries_one_per_given_box():
    inst = _instances([[300, 50, 490, 380], [520, 300, 600, 420]], [0.8, 0.6])
    given = np.array([PERSON_785, [20, 20, 120, 200]], np.float32)
    entries, unmatched = pose_entries(inst, 'a.png', None, given, bottomup=True)
    assert unmatched == 1 and len(entries) == 2
    first, second = entries
    assert first['bbox'] == [280.79, 44.73, 218.7, 346.68] and first['score'] == pytest.approx(0.4)
    assert first['keypoints'][:3] == [300.0, 50.0, 0.5] and first['match_iou'] > 0.7
    assert second == {'image': 'a.png', 'category_id': 1, 'bbox': [20.0, 20.0, 100.0, 180.0], 'score': None,
                      'keypoints': None}
    detected, none = pose_entries(inst, 'a.png')  # no boxes given: every detection
    assert none == 0 and [e['bbox'] for e in detected] == [[300.0, 50.0, 190.0, 330.0], [520.0, 300.0, 80.0, 120.0]]


def test_cli_bottomup_poses_follow_the_given_boxes(env, bottomup, coco, tmp_path, monkeypatch, capsys):  # noqa: F811
    """Issue 16 #8: with --boxes and a bottom-up P, poses.json had P's detections, not the given persons."""
    import mmrecanon.apis.inference as inference
    cfg, ckpt = bottomup
    calls = []

    def fake_estimate_poses(model, img, person_boxes=None, score_thr=0.3):
        calls.append(img.shape)  # P on the enhanced frame: one match, one stray detection
        return _instances([[300, 50, 490, 380], [520, 300, 600, 420]], [0.8, 0.6])

    monkeypatch.setattr(inference, 'estimate_poses', fake_estimate_poses)
    src, out = tmp_path / 'in', tmp_path / 'out'
    src.mkdir()
    shutil.copy(coco / COCO[0], src / COCO[0])
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({COCO[0]: [PERSON_785, [20, 20, 120, 200]]}))
    assert main(['anonymize', '-i', str(src), '-o', str(out), '--boxes', str(boxes), '--config', cfg,
                 '--checkpoint', ckpt, '--no-progress']) == 0
    assert calls == [(425, 640, 3)]
    captured = capsys.readouterr()
    assert f'{COCO[0]}: 2 people anonymized; P found no pose for 1 of them ("keypoints": null in poses.json)' \
        in captured.out
    assert (f'warning: {COCO[0]}: P found 1 person(s) that match no given box (IoU < 0.3): not anonymized unless '
            'a given box covers them') in captured.err
    poses = json.loads((out / 'poses.json').read_text())
    assert [p['bbox'] for p in poses] == [[280.79, 44.73, 218.7, 346.68], [20.0, 20.0, 100.0, 180.0]]
    assert len(poses[0]['keypoints']) == 3 * 17 and poses[0]['match_iou'] > 0.7
    assert poses[1]['keypoints'] is None and poses[1]['score'] is None


# ------------------------------------------------------------------------- 9. recover fingerprints, digests
def test_recover_checks_digests_and_what_produced_its_outputs(env, model, coco, tmp_path, capsys):  # noqa: F811
    src, anon = tmp_path / 'in', tmp_path / 'anon'
    src.mkdir()
    shutil.copy(coco / COCO[0], src / 'a.jpg')
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps([PERSON_785]))
    assert main(['anonymize', '-i', str(src), '-o', str(anon), '--boxes', str(boxes), '--out-ext', 'png',
                 *common(env)]) == 0
    entry = json.loads((anon / 'portraits.json').read_text())['files']['a.png']
    from mmrecanon.io.sidecar import boxes_digest, sha256_file
    assert entry['output_sha256'] == sha256_file(str(anon / 'a.png'))
    assert entry['boxes_sha256'] == boxes_digest(entry)
    enhanced = cv2.imread(str(anon / 'a.png'))
    expected = recover_image(model, enhanced, entry['boxes'])

    def recover(out, ckpt=None):
        capsys.readouterr()
        code = main(['recover', '-i', str(anon), '-o', str(out), *common(env, ckpt)])
        return code, capsys.readouterr()

    # a folder holding another run's output (no record of what produced it): redone, not "already done"
    rec = tmp_path / 'rec'
    rec.mkdir()
    shutil.copy(src / 'a.jpg', rec / 'a.png')
    code, captured = recover(rec)
    assert code == 0
    assert 'redoing a.png: an output exists but its entry in recovered.json is missing' in captured.out
    assert np.array_equal(cv2.imread(str(rec / 'a.png')), expected)
    record = json.loads((rec / 'recovered.json').read_text())['files']['a.png']
    assert record['produced_by']['checkpoint'] == sha256_file(env.full)
    assert record['produced_by']['input'] == entry['output_sha256']
    assert record['output_sha256'] == sha256_file(str(rec / 'a.png'))
    code, captured = recover(rec)  # the same run again: done
    assert code == 0 and '1 of 1 file(s) already done' in captured.out
    other = tmp_path / 'other.pth'  # same weights, another file: another checkpoint
    ck = torch.load(env.full, map_location='cpu', weights_only=False)
    torch.save({'state_dict': ck['state_dict'], 'meta': {'epoch': 2}}, other)
    code, captured = recover(rec, str(other))
    assert code == 0 and 'redoing a.png: checkpoint differ(s) from the run that wrote it' in captured.out

    # the anonymized image re-encoded (JPEG round trip, same name): skipped, exit 1
    original_png = (anon / 'a.png').read_bytes()
    ok, jpg = cv2.imencode('.jpg', enhanced, [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(str(anon / 'a.png'), cv2.imdecode(jpg, cv2.IMREAD_COLOR))
    code, captured = recover(tmp_path / 'rec_edit')
    assert code == 1
    assert f'skipping {anon / "a.png"}: its bytes differ from the file anonymize wrote' in captured.err
    assert not (tmp_path / 'rec_edit' / 'a.png').exists()
    (anon / 'a.png').write_bytes(original_png)

    # a box of the sidecar edited: skipped, exit 1
    data = json.loads((anon / 'portraits.json').read_text())
    data['files']['a.png']['boxes'][0][0] += 40
    (anon / 'portraits.json').write_text(json.dumps(data))
    code, captured = recover(tmp_path / 'rec_box')
    assert code == 1 and 'was changed after anonymization (boxes_sha256)' in captured.err
    assert not (tmp_path / 'rec_box' / 'a.png').exists()

    # an entry of an older mmrecanon (no digests): recovered, with a warning
    data['files']['a.png']['boxes'][0][0] -= 40
    for k in ('output_sha256', 'boxes_sha256'):
        del data['files']['a.png'][k]
    (anon / 'portraits.json').write_text(json.dumps(data))
    code, captured = recover(tmp_path / 'rec_old')
    assert code == 0 and 'warning: a.png: its sidecar entry has no digests' in captured.err
    assert np.array_equal(cv2.imread(str(tmp_path / 'rec_old' / 'a.png')), expected)


# ------------------------------------------------------------------------- 12. lossless video
def test_ffv1_mp4_output_is_lossless_outside_the_portraits(env, model, tiny_coco, tmp_path):  # noqa: F811
    src, out = tmp_path / 'in', tmp_path / 'out'
    src.mkdir()
    photo = cv2.resize(read_image(str(tiny_coco / COCO[0])), (128, 96))
    writer = cv2.VideoWriter(str(src / 'clip.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 10, (128, 96))
    for i in range(6):
        writer.write(np.roll(photo, 3 * i, axis=1))
    writer.release()
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps([[40, 10, 90, 90]]))
    assert main(['anonymize', '-i', str(src), '-o', str(out), '--boxes', str(boxes), '--fourcc', 'FFV1',
                 *common(env)]) == 0
    cap_in, cap_out = cv2.VideoCapture(str(src / 'clip.mp4')), cv2.VideoCapture(str(out / 'clip.mp4'))
    entry = json.loads((out / 'portraits.json').read_text())['files']['clip.mp4']
    assert entry['produced_by']['fourcc'] == 'FFV1'
    for i in range(6):
        frame, written = cap_in.read()[1], cap_out.read()[1]
        expected = anonymize_image(model, frame, [[40, 10, 90, 90]])['enhanced']
        assert np.array_equal(written, expected)  # every pixel as computed: background bit-identical


def test_test_py_pose_checkpoint_replaces_p_only(tmp_path):
    """tools/test.py --pose-checkpoint: G_X/G_Y of one run with another P (the converter's output)."""
    test_py = tool('test')
    own = {'enhancer.w': torch.ones(2), 'recoverer.w': torch.full((2, ), 2.), 'pose_estimator.a': torch.zeros(3)}
    pose = tmp_path / 'p.pth'
    torch.save(dict(state_dict={'a': torch.full((3, ), 7.), 'b': torch.ones(1)}), pose)  # standalone P keys
    args = type('Args', (), dict(pose_checkpoint=str(pose), work_dir=str(tmp_path / 'w'), config='c.py'))()
    merged, returned_meta, returned_sd = test_py.with_pose(args, own, {'epoch': 3})
    meta, sd = test_py.read_checkpoint(merged)  # what the runner loads is what test.py checks
    assert returned_meta == meta and all(torch.equal(returned_sd[k], sd[k]) for k in sd) and set(returned_sd) == set(sd)
    assert set(sd) == {'enhancer.w', 'recoverer.w', 'pose_estimator.a', 'pose_estimator.b'}
    assert torch.equal(sd['pose_estimator.a'], torch.full((3, ), 7.)) and torch.equal(sd['recoverer.w'], own['recoverer.w'])
    assert meta['epoch'] == 3 and meta['pose_checkpoint'] == str(pose)
    args.pose_checkpoint = str(tmp_path / 'missing.pth')
    with pytest.raises(SystemExit):
        test_py.with_pose(args, own, {})


def test_num_workers_zero_from_options_drops_persistent_workers():
    """`--cfg-options train_dataloader.num_workers=0` on a base with persistent workers: a config that runs
    (torch's DataLoader would raise deep inside the runner), while an untouched loader keeps its flag."""
    from mmrecanon.runtime import load_config
    cfg = load_config('configs/cpu/recanon_blur_people-mini_yolo.py', {'train_dataloader.num_workers': 0})
    assert cfg.train_dataloader.num_workers == 0 and cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.num_workers == 2  # not touched
    assert load_config('configs/cpu/recanon_blur_people-mini_yolo.py').train_dataloader.persistent_workers is True
