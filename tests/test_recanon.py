"""The joint model: gradient routing, optimisation step, prediction outputs and context preservation."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

import mmrecanon  # noqa: F401
from mmpose.registry import DATASETS, MODELS

FRAME = 128
PORTRAIT = 32
META_KEYS = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
             'input_scale', 'flip', 'flip_direction', 'flip_indices', 'portrait_bboxes')


def small_model_cfg(**overrides):
    """ReCanon with tiny networks (U-Net 5 on 32-px portraits) and RTMPose-t as top-down P."""
    cfg = Config.fromfile('tests/configs/recanon_tiny.py').model.to_dict()
    assert cfg['portrait_size'] == PORTRAIT
    cfg.update(overrides)
    return cfg


def dataset(tiny_coco, train: bool):
    codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=(FRAME, FRAME))
    if train:
        pipeline = [
            dict(type='LoadImage'),
            dict(type='BottomupRandomAffine', input_size=(FRAME, FRAME), shift_prob=0, rotate_prob=0,
                 scale_prob=0, scale_type='long', pad_val=(114, 114, 114), bbox_keep_corner=False,
                 clip_border=True),
            dict(type='FilterAnnotations', by_kpt=True, by_box=True, keep_empty=False),
            dict(type='GenerateTarget', encoder=codec),
            dict(type='PackPoseInputs')]
    else:
        pipeline = [
            dict(type='LoadImage'),
            dict(type='BottomupResize', input_size=(FRAME, FRAME), pad_val=(114, 114, 114)),
            dict(type='PortraitBoxes', from_space='image'),
            dict(type='PackPoseInputs', meta_keys=META_KEYS)]
    return DATASETS.build(dict(type='CocoDataset', data_root=str(tiny_coco), data_mode='bottomup',
                               ann_file='test_coco.json', data_prefix=dict(img=''), test_mode=not train,
                               pipeline=pipeline))


@pytest.fixture(scope='module')
def train_batch(tiny_coco):
    ds = dataset(tiny_coco, True)
    return pseudo_collate([ds[0], ds[1]])


@pytest.fixture(scope='module')
def val_batch(tiny_coco):
    ds = dataset(tiny_coco, False)
    return pseudo_collate([ds[0], ds[2]])


def build(**overrides):
    torch.manual_seed(0)
    model = MODELS.build(small_model_cfg(**overrides))
    model.init_weights()
    return model


NETWORKS = ('enhancer', 'recoverer', 'disc_enhanced', 'disc_recovered', 'pose_estimator')
# Which network each loss term must reach (the class docstring of ReCanon).
EXPECTED = {
    'loss_g_x': {'enhancer'},
    'loss_xy': {'enhancer'},
    'loss_g_y': {'enhancer', 'recoverer'},
    'loss_cons': {'enhancer', 'recoverer'},
    'pose_p': {'enhancer', 'pose_estimator'},
    'pose_r': {'enhancer', 'recoverer', 'pose_estimator'},
    'loss_d_y': {'disc_enhanced'},
    'loss_d_x': {'disc_recovered'},
}


def reached(model, loss):
    nets = set()
    for name in NETWORKS:
        params = [p for p in getattr(model, name).parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        if any(g is not None and g.abs().sum() > 0 for g in grads):
            nets.add(name)
    return nets


def test_each_network_gets_gradient_only_from_its_losses(train_batch):
    model = build().train()
    data = model.data_preprocessor(copy.deepcopy(train_batch), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_g_x', 'loss_xy', 'loss_g_y', 'loss_cons', 'loss_d_y', 'loss_d_x'} <= set(losses)
    pose_p = sum(v for k, v in losses.items() if k.startswith('loss') and k.endswith('_p'))
    pose_r = sum(v for k, v in losses.items() if k.startswith('loss') and k.endswith('_r'))
    terms = dict(pose_p=pose_p, pose_r=pose_r,
                 **{k: losses[k] for k in EXPECTED if k.startswith('loss')})
    for name, loss in terms.items():
        assert torch.isfinite(loss), name
        assert reached(model, loss) == EXPECTED[name], name


def _optim(model, method='ours'):
    adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999)))
    cfg = dict(constructor='PerNetworkOptimWrapperConstructor',
               pose_estimator=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)))
    if method != 'conventional':
        cfg.update(enhancer=adam, recoverer=adam, disc_enhanced=adam, disc_recovered=adam)
    return build_optim_wrapper(model, cfg)


def _snapshot(model):
    return {n: [p.detach().clone() for p in getattr(model, n).parameters()]
            for n in NETWORKS if hasattr(model, n)}


def _changed(before, model):
    return {n for n, ps in before.items()
            if any(not torch.equal(a, b) for a, b in zip(ps, getattr(model, n).parameters()))}


def yolo_p():
    """The YOLOv8-style one-stage P (bottom-up) instead of RTMPose: one `_base_` line in the configs."""
    pose = Config.fromfile('configs/_base_/pose/yolov8pose_n_coco.py')
    return dict(pose_codec=None, pose_estimator=pose.pose_estimator.to_dict(), pose_mode=pose.pose_mode)


@pytest.mark.parametrize('p', ['rtmpose', 'yolov8'])
def test_train_step_updates_all_five_networks_with_their_optimizers(train_batch, p):
    model = build(**(yolo_p() if p == 'yolov8' else {})).train()
    optim = _optim(model)
    assert type(optim['enhancer'].optimizer).__name__ == 'Adam'
    assert type(optim['pose_estimator'].optimizer).__name__ == 'AdamW'
    before = _snapshot(model)
    log = model.train_step(copy.deepcopy(train_batch), optim)
    assert _changed(before, model) == set(NETWORKS)
    for key in ('loss_d_y', 'loss_d_x', 'loss_g_x', 'loss_xy', 'loss_g_y', 'loss_cons', 'loss'):
        assert key in log and np.isfinite(float(log[key])), key
    if p == 'yolov8':  # eq. 10 on both privacy-enhanced (p) and recovered (r) frames
        for term in ('cls', 'bbox', 'dfl', 'kpt', 'vis'):
            assert f'loss_{term}_p' in log and f'loss_{term}_r' in log
    # discriminators are trainable again after the generator step
    assert all(p.requires_grad for p in model.disc_enhanced.parameters())


def test_frozen_pose_and_conventional_methods(train_batch):
    model = build(method='frozen_pose').train()
    assert not model.pose_estimator.training
    before = _snapshot(model)
    model.train_step(copy.deepcopy(train_batch), _optim(model))
    assert _changed(before, model) == set(NETWORKS) - {'pose_estimator'}

    conv = build(method='conventional', enhancer=None, recoverer=None, disc_enhanced=None,
                 disc_recovered=None).train()
    assert not hasattr(conv, 'enhancer')
    before = _snapshot(conv)
    log = conv.train_step(copy.deepcopy(train_batch), _optim(conv, 'conventional'))
    assert _changed(before, conv) == {'pose_estimator'}
    assert any(k.endswith('_a') for k in log)


def test_conventional_predict_has_the_A_view_only(val_batch):
    """tools/test.py on a Conventional model: no G_X, so no training target to drop and no y'/x' views."""
    conv = build(method='conventional', enhancer=None, recoverer=None, disc_enhanced=None,
                 disc_recovered=None).eval()
    data = conv.data_preprocessor(copy.deepcopy(val_batch), False)
    out = conv.predict(data['inputs'], data['data_samples'])
    for ds in out:
        assert 'pred_instances_conventional' in ds and 'pred_instances_enhanced' not in ds
        n = len(ds.metainfo['portrait_bboxes'])
        a = ds.portraits.get('conventional')
        assert a.shape == (n, PORTRAIT, PORTRAIT, 3)
        assert not np.array_equal(a, ds.portraits.get('original'))  # A(x) is a blur of x, not x


def test_cycle_order_printed_uses_gx_of_gy(train_batch):
    model = build(cycle_order='printed').eval()
    data = model.data_preprocessor(copy.deepcopy(train_batch), False)
    boxes = model.portrait_boxes(data['data_samples'], use_meta=False)
    x = model.crop(data['inputs'], boxes)
    trans = model.translate(x)
    losses = model.generator_losses(data['inputs'], data['data_samples'], x, boxes, trans)
    w = model.consistency_loss.loss_weight
    expected = w * (model.enhancer(model.recoverer(x)) - x).abs().mean()
    assert losses['loss_cons'].item() == pytest.approx(expected.item(), rel=1e-5)
    text = build(cycle_order='text').eval()
    text.load_state_dict(model.state_dict())
    losses = text.generator_losses(data['inputs'], data['data_samples'], x, boxes, text.translate(x))
    expected = w * (text.recoverer(text.translate(x)['enhanced']) - x).abs().mean()
    assert losses['loss_cons'].item() == pytest.approx(expected.item(), rel=1e-5)


def test_predict_outputs_and_context_preservation(val_batch):
    from mmrecanon.models.utils.portrait import portrait_mask
    model = build().eval()
    data = model.data_preprocessor(copy.deepcopy(val_batch), False)
    out = model.predict(data['inputs'], data['data_samples'])
    assert len(out) == 2
    for ds, inp in zip(out, data['inputs']):
        n = len(ds.metainfo['portrait_bboxes'])
        assert n > 0
        assert len(ds.portraits) == n
        for view in ('original', 'conventional', 'enhanced', 'recovered'):
            assert ds.portraits.get(view).shape == (n, PORTRAIT, PORTRAIT, 3)
            assert ds.portraits.get(view).dtype == np.uint8
            assert f'pred_instances_{view}' in ds
        assert ds.pred_instances is ds.pred_instances_enhanced
        orig = ds.original_img
        assert np.array_equal(orig, inp.permute(1, 2, 0).round().clamp(0, 255).byte().numpy())
        mask = portrait_mask(orig.shape[:2], torch.as_tensor(ds.portraits.bboxes)).numpy()
        assert mask.any() and not mask.all()
        for view in ('conventional', 'enhanced', 'recovered'):
            img = ds.get(f'{view}_img')
            assert np.array_equal(img[~mask], orig[~mask]), view  # background bit-identical
            assert not np.array_equal(img[mask], orig[mask]), view
        # keypoints are in original-image space (ori_shape), not in the 128-px input
        kpts = ds.pred_instances_original.keypoints
        assert kpts.shape[1:] == (17, 2)
        h, w = ds.metainfo['ori_shape']
        assert kpts[..., 0].max() > FRAME or kpts[..., 1].max() > FRAME or max(h, w) <= FRAME


def test_quantized_enhanced_portraits_are_8bit(val_batch):
    model = build().eval()
    data = model.data_preprocessor(copy.deepcopy(val_batch), False)
    boxes = model.portrait_boxes(data['data_samples'], use_meta=True)
    y = model.translate(model.crop(data['inputs'], boxes))['enhanced']
    levels = (y + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)


def test_bad_method_and_cycle_order_are_one_line_errors():
    with pytest.raises(ValueError, match='method must be one of'):
        build(method='magic')
    with pytest.raises(ValueError, match='cycle_order must be one of'):
        build(cycle_order='backwards')
    with pytest.raises(ValueError, match="needs 'enhancer'"):
        build(enhancer=None)


class _Runner:
    """What ProgressiveSupervisionHook reads of MMEngine's Runner."""

    def __init__(self, model, epoch=0):
        import logging
        self.model, self.epoch, self.logger = model, epoch, logging.getLogger('test')


def test_progressive_supervision_upgrades_the_target_on_schedule_and_resumes(train_batch):
    from mmrecanon.engine import ProgressiveSupervisionHook
    model = build().train()
    data = model.data_preprocessor(copy.deepcopy(train_batch), True)
    x, _, _, boxes = model.batch_portraits(data['inputs'], data['data_samples'])
    before = model.translate(x)
    assert model.supervisor is None and torch.equal(before['target'], before['conventional'])  # the paper: A(x)
    hook = ProgressiveSupervisionHook(stage_epochs=2, max_stages=1)
    hook.after_train_epoch(_Runner(model, epoch=0))  # epoch 1 of 2: no switch yet
    assert model.supervisor is None
    hook.after_train_epoch(_Runner(model, epoch=1))
    assert model.supervisor is not None and hook.stages == 1
    assert not any(p.requires_grad for p in model.supervisor.parameters())
    assert 'supervisor' not in ''.join(model.state_dict())  # no checkpoint key, no optimizer
    # the new target is the frozen G_X's y' (no gradient); L_XY and D_Y's real sample use it
    trans = model.translate(x)
    torch.testing.assert_close(trans['target'], model.enhance(x, enhancer=model.supervisor).detach())
    assert not trans['target'].requires_grad
    losses = model.generator_losses(data['inputs'], data['data_samples'], x, boxes, trans)
    torch.testing.assert_close(losses['loss_xy'], model.enhance_loss(trans['enhanced'], trans['target']))
    # G_X trains on, the supervisor stays what it was
    with torch.no_grad():
        for p in model.enhancer.parameters():
            p.add_(0.01)
    assert not torch.equal(model.enhance(x), model.enhance(x, enhancer=model.supervisor))
    hook.after_train_epoch(_Runner(model, epoch=3))  # max_stages reached
    assert hook.stages == 1
    # checkpoint round trip: a resumed run gets the same supervisor
    ckpt = {}
    hook.before_save_checkpoint(_Runner(model), ckpt)
    fresh, hook2 = build(), ProgressiveSupervisionHook(stage_epochs=2, max_stages=1)
    hook2.after_load_checkpoint(_Runner(fresh), ckpt)
    assert hook2.stages == 1
    for (k, v), w in zip(model.supervisor.state_dict().items(), fresh.supervisor.state_dict().values()):
        assert torch.equal(v, w), k


def test_progressive_supervision_waits_while_y_is_less_private_than_A():
    from mmrecanon.engine import ProgressiveSupervisionHook
    model = build()
    hook = ProgressiveSupervisionHook(stage_epochs=1, psnr_margin=0.5)
    hook.after_val_epoch(None, {'portrait/psnr_o_p': 21.2, 'portrait/psnr_o_A': 20.5})  # 0.7 dB above A
    hook.after_train_epoch(_Runner(model))
    assert model.supervisor is None and hook.stages == 0
    hook.after_val_epoch(None, {'portrait/psnr_o_p': 20.9, 'portrait/psnr_o_A': 20.5})
    hook.after_train_epoch(_Runner(model))
    assert model.supervisor is not None and hook.stages == 1
    with pytest.raises(ValueError, match='stage_epochs'):
        ProgressiveSupervisionHook(stage_epochs=0)


def test_zeroshot_p_comes_from_its_checkpoint_also_without_init_weights(tmp_path):
    """tools/test.py builds the model without init_weights: load_zeroshot fills the zero-shot P from
    zeroshot_checkpoint (a P trained on originals), not random weights."""
    src = build()
    ckpt = tmp_path / 'p.pth'
    torch.save(dict(state_dict={f'pose_estimator.{k}': v for k, v in src.pose_estimator.state_dict().items()}),
               ckpt)
    pose_cfg = small_model_cfg()['pose_estimator']
    torch.manual_seed(1)
    model = MODELS.build(small_model_cfg(zeroshot_pose_estimator=pose_cfg, zeroshot_checkpoint=str(ckpt)))
    want = src.pose_estimator.state_dict()
    got = model.zeroshot_pose_estimator.state_dict()
    assert not all(torch.equal(got[k], want[k]) for k in want)  # random before
    assert model.load_zeroshot() is True
    got = model.zeroshot_pose_estimator.state_dict()
    assert all(torch.equal(got[k], want[k]) for k in want)
    assert MODELS.build(small_model_cfg()).load_zeroshot() is False  # no zero-shot P configured


def test_missing_zeroshot_checkpoint_is_a_clear_error(tmp_path):
    pose_cfg = small_model_cfg()['pose_estimator']
    model = MODELS.build(small_model_cfg(zeroshot_pose_estimator=pose_cfg,
                                         zeroshot_checkpoint=str(tmp_path / 'none.pth')))
    with pytest.raises(FileNotFoundError, match='zero-shot P checkpoint not found'):
        model.load_zeroshot()
