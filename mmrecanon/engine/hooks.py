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


@HOOKS.register_module()
class ProgressiveSupervisionHook(Hook):
    """The progressive supervision upgrade of Zhang, Ye, Yang (ACM MM 2022, "Learnable privacy-preserving
    anonymization for pedestrian images"; code: junwuzhang19/privacy-reid).

    y' starts supervised by A(x) (L_XY and D_Y's real sample, the paper's L_enhance). After every
    ``stage_epochs`` epochs of an epoch-based loop (at most ``max_stages`` times; 0: never, the comparison run) the current G_X is frozen and *its* y' of each
    batch becomes the target instead (``ReCanon.upgrade_supervision``): what P learnt to use moves into the
    target, so the next stage may keep it. As in their code the new target replaces A(x) (no blending), is
    computed on the fly by the frozen copy (no gradient), and nothing else changes at a switch (learning
    rates, optimizers, G_X's own weights).

    Privacy gate: their code upgrades only while the anonymized images stay within a PSNR/SSIM margin of
    A(x). Here, when a validation has run (``PortraitQualityMetric``: ``psnr_o_p``, ``psnr_o_A``), a stage
    starts only if PSNR(o, p) ≤ PSNR(o, A) + ``psnr_margin`` dB (their default margin: 0.5); without
    validation metrics the schedule alone decides (their stage switches are gated by validation epochs;
    a fixed stage length is this project's choice, so that runs at equal CPU minutes compare). The
    supervisor's weights and the stage count are checkpointed, so ``--resume`` continues exactly.
    """

    priority = 'NORMAL'

    def __init__(self, stage_epochs: int, max_stages: int = None, psnr_margin: float = 0.5) -> None:
        if isinstance(stage_epochs, bool) or int(stage_epochs) != stage_epochs or stage_epochs < 1:
            raise ValueError(f'stage_epochs must be an integer >= 1, got {stage_epochs!r}')
        self.stage_epochs, self.max_stages, self.psnr_margin = int(stage_epochs), max_stages, float(psnr_margin)
        self.stages = 0
        self._metrics = None

    @staticmethod
    def _model(runner):
        from mmengine.model import is_model_wrapper
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._metrics = metrics

    def private_enough(self) -> bool:
        """The gate: True without validation metrics, else PSNR(o, p) ≤ PSNR(o, A) + margin."""
        from ..evaluation.tables import find_metric
        if not self._metrics:
            return True
        p, a = find_metric(self._metrics, 'psnr_o_p'), find_metric(self._metrics, 'psnr_o_A')
        return p is None or a is None or p <= a + self.psnr_margin

    def after_train_epoch(self, runner) -> None:
        epoch = runner.epoch + 1
        if epoch % self.stage_epochs or (self.max_stages is not None and self.stages >= self.max_stages):
            return
        if not self.private_enough():
            runner.logger.info(f'progressive supervision: no upgrade after epoch {epoch}: y\' is further than '
                               f'{self.psnr_margin} dB above A(x) in PSNR(o, ·) at the last validation')
            return
        self._model(runner).upgrade_supervision()
        self.stages += 1
        runner.logger.info(f'progressive supervision: stage {self.stages + 1} from epoch {epoch + 1}: the frozen '
                           'G_X of this epoch supervises y\'')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        supervisor = self._model(runner).supervisor
        checkpoint['progressive_supervision'] = dict(
            stages=self.stages,
            enhancer=None if supervisor is None else {k: v.detach().cpu() for k, v in supervisor.state_dict().items()})

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('progressive_supervision') or {}
        self.stages = int(state.get('stages', 0))
        if state.get('enhancer') is not None:
            self._model(runner).upgrade_supervision(state['enhancer'])
