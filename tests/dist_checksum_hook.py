"""Test-only hook (imported through custom_imports): per-rank parameter checksums after training."""
import json
import os.path as osp

from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmpose.registry import HOOKS


def _checksum(model):
    model = getattr(model, 'module', model)
    return {n: float(sum(p.detach().double().sum() for p in getattr(model, n).parameters()))
            for n in ('enhancer', 'recoverer', 'disc_enhanced', 'disc_recovered', 'pose_estimator')}


@HOOKS.register_module()
class ParamChecksumHook(Hook):

    def before_train(self, runner):
        self.initial = _checksum(runner.model)
        self.batch = None

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.batch is None:
            self.batch = [ds.metainfo['img_path'] for ds in data_batch['data_samples']]

    def after_train(self, runner):
        out = dict(world_size=get_world_size(), initial=self.initial, params=_checksum(runner.model),
                   batch=self.batch)
        with open(osp.join(runner.work_dir, f'checksum_rank{get_rank()}.json'), 'w') as f:
            json.dump(out, f)
