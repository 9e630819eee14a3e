from .distributed import ReCanonDistributedWrapper, all_reduce_grads
from .hooks import TorchRNGStateHook, TrainTimeBudgetHook
from .optim_constructor import PerNetworkOptimWrapperConstructor

__all__ = [
    'PerNetworkOptimWrapperConstructor', 'ReCanonDistributedWrapper', 'TorchRNGStateHook', 'TrainTimeBudgetHook',
    'all_reduce_grads'
]
