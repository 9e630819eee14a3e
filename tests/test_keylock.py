"""Key-locked recovery: Haar transform, key-derived scramble, check values, key files, ReCanon with key_lock."""
import os
import stat

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmrecanon.models.utils.keylock import (KEY_BYTES, KeyedCarrier, KeyLockError, check_value, derive_scramble,
                                            generate_key, haar2d, ihaar2d, parse_key, random_keys, read_key_file,
                                            verify_key, write_key_file)


def test_haar_is_orthonormal_and_its_low_band_is_twice_the_block_mean():
    x = torch.rand(2, 3, 16, 12, generator=torch.Generator().manual_seed(0))
    ll, d = haar2d(x)
    assert ll.shape == (2, 3, 8, 6) and d.shape == (2, 9, 8, 6)
    assert torch.allclose(ll, 2 * F.avg_pool2d(x, 2), atol=1e-6)
    assert torch.allclose(ihaar2d(ll, d), x, atol=1e-6)
    assert torch.allclose((ll ** 2).sum() + (d ** 2).sum(), (x ** 2).sum(), rtol=1e-5)
    flat = torch.zeros(1, 1, 2, 2)
    flat[..., 0, 0] = 1  # a single bright pixel: |every coefficient| = 1/2
    ll, d = haar2d(flat)
    assert torch.allclose(torch.cat([ll, d], 1).abs().flatten(), torch.full((4,), 0.5))
    with pytest.raises(ValueError, match='even'):
        haar2d(torch.zeros(1, 1, 3, 4))


def test_scramble_is_a_keyed_permutation_with_signs():
    key, nonce = bytes(range(32)), bytes(16)
    perm, sign = derive_scramble(key, nonce, 1000)
    perm2, sign2 = derive_scramble(key, nonce, 1000)
    assert np.array_equal(perm, perm2) and np.array_equal(sign, sign2)  # deterministic
    assert np.array_equal(np.sort(perm), np.arange(1000))
    assert set(np.unique(sign)) == {-1.0, 1.0} and 400 < (sign > 0).sum() < 600
    other_nonce, _ = derive_scramble(key, bytes([1] + [0] * 15), 1000)
    other_key, _ = derive_scramble(bytes(32), nonce, 1000)
    for other in (other_nonce, other_key):
        assert (other == perm).mean() < 0.01  # unrelated permutations agree on ~1/n positions
    with pytest.raises(KeyLockError):
        derive_scramble(b'short', nonce, 10)


def test_lock_keeps_the_low_band_of_a_and_only_the_right_key_unlocks():
    g = torch.Generator().manual_seed(1)
    y, a = torch.rand(3, 3, 32, 32, generator=g) * 2 - 1, torch.rand(3, 3, 32, 32, generator=g) * 2 - 1
    lock = KeyedCarrier()
    keys, nonces = random_keys(3, torch.Generator().manual_seed(2))
    sent = lock.lock(y, a, keys, nonces)
    assert torch.allclose(haar2d(sent)[0], haar2d(a)[0], atol=1e-5)
    assert torch.allclose((sent ** 2).sum(), (haar2d(a)[0] ** 2).sum() + (haar2d(y)[1] ** 2).sum(), rtol=1e-4)
    right = lock.unlock(sent, keys, nonces)
    assert torch.allclose(haar2d(right)[1], haar2d(y)[1], atol=1e-5)
    wrong_keys, _ = random_keys(3, torch.Generator().manual_seed(3))
    wrong = haar2d(lock.unlock(sent, wrong_keys, nonces))[1].flatten()
    corr = np.corrcoef(wrong.numpy(), haar2d(y)[1].flatten().numpy())[0, 1]
    assert abs(corr) < 0.05
    assert lock.unlock(sent, None, None) is sent  # absent key: y' as it is
    assert len(set(keys)) == 1 and len(set(nonces)) == 3  # one camera key, a nonce per portrait
    # differentiable: gradients reach G_X's output through lock and unlock
    y.requires_grad_(True)
    (lock.unlock(lock.lock(y, a, keys, nonces), keys, nonces) ** 2).sum().backward()
    ll_part = 2 * F.avg_pool2d(y.detach(), 2)
    expected = 2 * (y.detach() - F.interpolate(ll_part, scale_factor=2) / 2)  # d/dy of ||details(y)||²
    assert torch.allclose(y.grad, expected, atol=1e-4)


def test_check_value_and_key_files(tmp_path):
    key = generate_key()
    assert len(key) == KEY_BYTES and generate_key() != key
    assert check_value(key) == check_value(bytes(key)) and len(check_value(key)) == 16
    assert check_value(key) != check_value(bytes(32))
    verify_key(key, check_value(key))
    with pytest.raises(KeyLockError, match='wrong key'):
        verify_key(bytes(32), check_value(key))
    path = tmp_path / 'k.key'
    write_key_file(str(path), key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_key_file(str(path)) == key and check_value(key) not in path.read_text()
    with pytest.raises(FileExistsError):
        write_key_file(str(path), generate_key())  # never overwritten
    assert read_key_file(str(path)) == key
    for text, msg in (('abcd', 'bytes'), ('zz' * 32, 'hexadecimal'), ('', 'exactly one line'),
                      ('00' * 32 + '\n' + '00' * 32, 'exactly one line')):
        with pytest.raises(KeyLockError, match=msg):
            parse_key(text)
    with pytest.raises(FileNotFoundError):
        read_key_file(str(tmp_path / 'missing.key'))


def _keyed_model():
    from mmpose.registry import MODELS
    cfg = Config.fromfile('tests/configs/recanon_tiny.py')
    cfg.model.key_lock = dict(type='KeyedCarrier')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, cfg


def test_recanon_with_key_lock_trains_and_predicts_the_key_views():
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    init_default_scope('mmpose')
    model, cfg = _keyed_model()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with pytest.raises(ValueError, match='key-locked'):
        model.enhance(x)
    keys, nonces = random_keys(2, torch.Generator().manual_seed(0))
    y = model.enhance(x, keys, nonces)
    assert torch.allclose(haar2d(y)[0], haar2d(model.desensitizer(x))[0], atol=2 / 255 * 2)  # 8-bit rounding
    cfg.train_dataloader.num_workers = 0
    loader = Runner.build_dataloader(cfg.train_dataloader)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step(next(iter(loader)), optim)
    assert all(torch.isfinite(v) for v in log.values())
    for net in ('enhancer', 'recoverer', 'disc_enhanced', 'disc_recovered', 'pose_estimator'):
        assert any(not torch.equal(p, before[n]) for n, p in model.named_parameters() if n.startswith(net + '.'))
    model.eval()
    cfg.val_dataloader.num_workers = 0
    batch = model.data_preprocessor(next(iter(Runner.build_dataloader(cfg.val_dataloader))), False)
    out = model.predict(batch['inputs'], batch['data_samples'])
    out2 = model.predict(batch['inputs'], [s.clone() for s in batch['data_samples']])
    portraits = out[0].portraits
    for view in ('recovered', 'recovered_wrongkey', 'recovered_nokey'):
        assert view in portraits and f'pred_instances_{view}' in out[0]
    assert np.array_equal(portraits.recovered, out2[0].portraits.recovered)  # fixed test keys
    assert not np.array_equal(portraits.recovered, portraits.recovered_wrongkey)


def _load_attack_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location('keylock_attack', 'tools/analysis/keylock_attack.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_keylock_attack_report_checks_the_targets():
    tool = _load_attack_tool()
    q = (lambda p: dict(psnr=p, ssim=0.5))
    result = dict(portraits=3, attacker_pairs=1000, attacker_epochs=10, seconds=1.0, rows={
        "privacy-enhanced y'": q(20.0), 'recovered, right key': q(25.0), 'recovered, wrong key': q(20.5),
        'recovered, no key': q(21.5), 'attack: as sent (G_Y fine-tuned on y\')': q(20.9),
        'unkeyed system: recovered': q(26.5)})
    table = tool.render(result)
    assert '| recovered, wrong key | 20.50 | 0.5000 | ≤ PSNR(o,p) + 1 = 21.00: met |' in table
    assert '| recovered, no key | 21.50 | 0.5000 | ≤ PSNR(o,p) + 1 = 21.00: NOT met |' in table
    assert 'within 1 dB of unkeyed (26.50): NOT met' in table


def test_keylock_attack_runs_on_mmpose_tiny(tmp_path):
    import json
    import os.path as osp
    if not osp.isdir('../shared/data/mmpose-tiny'):
        pytest.skip('needs ../shared/data/mmpose-tiny')
    tool = _load_attack_tool()
    model, cfg = _keyed_model()
    cfg_path, ckpt = str(tmp_path / 'keyed.py'), str(tmp_path / 'keyed.pth')
    cfg.dump(cfg_path)
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = str(tmp_path / 'kl')
    assert tool.main([cfg_path, ckpt, '--pairs', '6', '--epochs', '1', '--out', out]) == 0
    result = json.load(open(out + '.json'))
    assert result['attacker_pairs'] == 6 and result['portraits'] == 14  # the 14 people of the 4 COCO images
    rows = result['rows']
    assert {'recovered, right key', 'recovered, wrong key', 'recovered, no key'} <= set(rows)
    assert rows['recovered, right key']['psnr'] != rows['recovered, wrong key']['psnr']
    assert osp.isfile(out + '.png') and osp.isfile(out + '.md')
    assert tool.main([cfg_path, ckpt, '--unkeyed-config', cfg_path]) == 2  # the pair goes together
