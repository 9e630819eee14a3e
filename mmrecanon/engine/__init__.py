from .distributed import ReCanonDistributedWrapper, all_reduce_grads
from .hooks import ProgressiveSupervisionHook, TorchRNGStateHook, TrainTimeBudgetHook
from .optim_constructor import PerNetworkOptimWrapperConstructor

__all__ = [
    'PerNetworkOptimWrapperConstructor', 'ProgressiveSupervisionHook', 'ReCanonDistributedWrapper',
    'TorchRNGStateHook', 'TrainTimeBudgetHook', 'all_reduce_grads'
]
