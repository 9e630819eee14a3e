"""Hooks for exact resumption of the joint training and for time-budgeted runs."""
import os.path as osp
import time

import torch
from mmengine.hooks import Hook
from mmpose.registry import HOOKS


@HOOKS.register_module()
class TorchRNGStateHook(Hook):
    """Store torch's RNG state in checkpoints and restore it when training resumes.

    MMEngine re-seeds nothing on resume when the seed is unchanged and replays the data loader to skip
    finished iterations, which reproduces NumPy-driven augmentation; what it cannot reproduce is the
    torch RNG the generators' dropout consumed.  With this hook (and ``num_workers=0``) the first loss
    after ``--resume`` equals the loss of an uninterrupted run.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._state = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['torch_rng_state'] = torch.get_rng_state()
        if torch.cuda.is_available():
            checkpoint['cuda_rng_state'] = torch.cuda.get_rng_state_all()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._state = (checkpoint.get('torch_rng_state'), checkpoint.get('cuda_rng_state'))

    def before_train(self, runner) -> None:
        if self._state is None or runner.iter == 0:  # plain `load_from` fine-tuning: keep fresh RNG
            return
        cpu, cuda = self._state
        if cpu is not None:
            torch.set_rng_state(cpu)
        if cuda is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda)
        self._state = None


@HOOKS.register_module()
class TrainTimeBudgetHook(Hook):
    """Stop training at the first epoch end after ``minutes`` of training time, with a checkpoint.

    For comparisons at equal CPU minutes (``results/recovery.md``). ``clock='process'`` (default) counts
    the CPU time of the training process (all its threads; data-loader workers excluded), so a run that
    shares the cores with other jobs still gets its full budget of computation; ``clock='wall'`` counts
    wall time. The time (not counting validation) is kept in checkpoints, so a resumed run continues the
    same budget (a run started from another run's weights with ``load_from`` starts its own). The checkpoint of the last epoch is written here unless ``CheckpointHook`` (priority
    VERY_LOW, before this hook) already did.
    """

    priority = 'LOWEST'

    def __init__(self, minutes: float, clock: str = 'process') -> None:
        if not float(minutes) > 0:
            raise ValueError(f'minutes must be > 0, got {minutes!r}')
        if clock not in ('process', 'wall'):
            raise ValueError(f"clock must be 'process' or 'wall', got {clock!r}")
        self._now = time.process_time if clock == 'process' else time.perf_counter
        self.clock = clock
        self.budget_s = 60.0 * float(minutes)
        self.elapsed_s = 0.0
        self._start = None

    def before_train_epoch(self, runner) -> None:
        self._start = self._now()

    def after_train_epoch(self, runner) -> None:
        self.elapsed_s += self._now() - self._start
        runner.message_hub.update_info('train_time_s', self.elapsed_s)
        if self.elapsed_s < self.budget_s:
            return
        runner.logger.info(f'time budget of {self.budget_s / 60:.1f} min ({self.clock}) reached after epoch '
                           f'{runner.epoch + 1} ({runner.iter + 1} iterations): stopping')
        name = f'epoch_{runner.epoch + 1}.pth'
        if not osp.isfile(osp.join(runner.work_dir, name)):
            runner.save_checkpoint(runner.work_dir, name, save_optimizer=True, save_param_scheduler=True)
            # as CheckpointHook does, so that a plain ``--resume`` continues from this epoch
            with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(osp.join(runner.work_dir, name))
        runner.train_loop.stop_training = True

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['train_time_s'] = self.elapsed_s

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # only a resumed run continues its budget; a run that starts from another run's weights
        # (``load_from`` without ``--resume``) has its own
        if getattr(runner, '_resume', False):
            self.elapsed_s = float(checkpoint.get('meta', {}).get('train_time_s', 0.0))
