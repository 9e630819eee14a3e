from .distributed import ReCanonDistributedWrapper, all_reduce_grads
from .optim_constructor import PerNetworkOptimWrapperConstructor

__all__ = ['PerNetworkOptimWrapperConstructor', 'ReCanonDistributedWrapper', 'all_reduce_grads']
