"""Hooks for exact resumption of the joint training."""
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
