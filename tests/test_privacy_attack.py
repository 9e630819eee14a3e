"""tools/analysis/privacy_attack.py: dlib face detection / re-identification and the report on tiny data."""
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

pytest.importorskip('dlib', reason='dlib-bin is installed by tools/setup_env.sh')
pytest.importorskip('face_recognition_models', reason='installed by tools/setup_env.sh')

TINY = '../shared/data/mmpose-tiny/coco'


def load_tool():
    spec = importlib.util.spec_from_file_location('privacy_attack', 'tools/analysis/privacy_attack.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def tool():
    return load_tool()


@pytest.fixture(scope='module')
def attacker(tool):
    return tool.FaceAttacker(upsample=1)


def astronaut_bgr():
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[..., ::-1])


def test_faces_found_and_reidentified_only_where_the_face_is_readable(tool, attacker):
    img = astronaut_bgr()
    person = np.array([[100, 20, 350, 300]], np.float32)  # Eileen Collins, head and shoulders
    faces = tool.reference_faces(attacker, img, person)
    assert len(faces) == 1  # her face; a second detection lower down (centre y 380) lies outside the box
    fx1, fy1, fx2, fy2 = faces[0]['box']
    assert 150 < (fx1 + fx2) / 2 < 290 and 50 < (fy1 + fy2) / 2 < 200
    same = tool.attack_view(attacker, faces, img)[0]
    assert same == dict(detected=True, distance=pytest.approx(0.0, abs=1e-5), reidentified=True)
    flipped = np.ascontiguousarray(img[:, ::-1])  # the same person, mirrored: found and re-identified
    mirrored = [dict(box=np.array([512 - fx2, fy1, 512 - fx1, fy2], np.float32), embedding=faces[0]['embedding'])]
    m = tool.attack_view(attacker, mirrored, flipped)[0]
    assert m['detected'] and m['reidentified'] and 0 < m['distance'] < 0.6
    blurred = cv2.GaussianBlur(img, (0, 0), 8)  # A(x)-like blur: the face is gone for both models
    b = tool.attack_view(attacker, faces, blurred)[0]
    assert not b['detected'] and not b['reidentified'] and b['distance'] > 0.6
    summary = tool.summarize({'original': [same], 'blur': [b], 'empty': []})
    assert summary['original'] == dict(faces=1, detection_rate=1.0, reid_rate=1.0, mean_distance=pytest.approx(0))
    assert summary['blur']['detection_rate'] == 0.0 and summary['blur']['reid_rate'] == 0.0
    assert summary['empty']['detection_rate'] is None


@pytest.mark.skipif(not osp.isdir(TINY), reason='needs ../shared/data/mmpose-tiny')
def test_report_on_mmpose_tiny_with_a_key_locked_model(tool, tmp_path):
    from mmpose.registry import MODELS
    cfg = Config.fromfile('tests/configs/recanon_tiny.py')
    cfg.model.key_lock = dict(type='KeyedCarrier')
    cfg_path, ckpt = str(tmp_path / 'keyed.py'), str(tmp_path / 'keyed.pth')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = str(tmp_path / 'attack')
    assert tool.main([cfg_path, ckpt, '--ann-file', f'{TINY}/test_coco.json', '--img-dir', TINY,
                      '--upsample', '2', '--out', out]) == 0
    result = json.load(open(out + '.json'))
    faces = result['faces']
    assert list(faces) == ['original', 'conventional A(x)', "privacy-enhanced y'", "recovered x'",
                           'recovered with a wrong key']
    n = faces['original']['faces']
    assert n >= 1 and all(v['faces'] == n for v in faces.values())
    assert faces['original']['detection_rate'] == 1.0 and faces['original']['reid_rate'] == 1.0
    assert faces['conventional A(x)']['reid_rate'] < 1.0  # blur r = 2 on 32-px portraits still hides faces
    assert result['key_locked'] is True
    table = open(out + '.md').read()
    assert '| original | 100.0 % | 100.0 % | 0.000 |' in table and osp.isfile(out + '.png')
    assert tool.main([cfg_path, str(tmp_path / 'missing.pth')]) == 2
