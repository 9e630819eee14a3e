from .distributed import ReCanonDistributedWrapper, all_reduce_grads
from .hooks import TorchRNGStateHook
from .optim_constructor import PerNetworkOptimWrapperConstructor

__all__ = [
    'PerNetworkOptimWrapperConstructor', 'ReCanonDistributedWrapper', 'TorchRNGStateHook', 'all_reduce_grads'
]
