"""A batch sampler for training on two kinds of samples at once (frames for P, tiles for G_X/G_Y)."""
import bisect
from typing import Iterator, List, Optional, Sequence

from torch.utils.data import BatchSampler, Sampler

from mmpose.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class SourceBatchSampler(BatchSampler):
    """Batches that each hold samples of one part of a ``ConcatDataset``, with a batch size per part.

    The joint "Ours" run (``configs/cpu/recanon-ours_blur_people-mini_yolo.py``) trains on people-mini frames
    (P sees them: batch of 8) and on native-resolution tiles (``NativePersonTile``: G_X and G_Y only, batch of
    24). The two cannot share a batch (3 vs 6 channels, different sizes), so each batch comes from one part:
    indices are drawn by the wrapped sampler (shuffled, per rank) and collected per part until that part's
    batch is full. How often each kind comes is set by the parts' sizes (``RepeatDataset`` to weight one).

    Args:
        sampler: the index sampler (MMEngine's ``DefaultSampler``; its ``dataset`` must be a
            ``ConcatDataset``).
        batch_size (int): the batch size of every part unless ``batch_sizes`` is given (the dataloader's).
        batch_sizes (sequence of int, optional): one batch size per part of the ``ConcatDataset``.
        drop_last (bool): drop each part's last incomplete batch of an epoch (default True: a tile batch of 2
            would weigh as much as one of 24).

    One process only: with several, each rank's random share of each part would give the ranks different
    numbers of batches, and distributed training would wait at the end of an epoch for batches that never
    come. It refuses to start there instead.
    """

    def __init__(self, sampler: Sampler, batch_size: int, batch_sizes: Optional[Sequence[int]] = None,
                 drop_last: bool = True) -> None:
        dataset = getattr(sampler, 'dataset', None)
        bounds = getattr(dataset, 'cumulative_sizes', None)
        if bounds is None:
            raise ValueError('SourceBatchSampler needs a sampler over a ConcatDataset (train_dataloader.dataset '
                             f"type='ConcatDataset'), got {type(dataset).__name__}")
        sizes = list(batch_sizes) if batch_sizes is not None else [batch_size] * len(bounds)
        if len(sizes) != len(bounds) or any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f'batch_sizes must be one integer >= 1 per part ({len(bounds)} parts), '
                             f'got {batch_sizes!r}')
        from mmengine.dist import get_world_size
        if get_world_size() > 1:
            raise ValueError('SourceBatchSampler runs in one process only (the ranks would get different numbers '
                             'of batches per epoch); train the mixed frames + tiles configs without a launcher')
        super().__init__(sampler, int(sizes[0]), drop_last)
        self.bounds = list(bounds)
        self.batch_sizes = [int(s) for s in sizes]

    def part_of(self, index: int) -> int:
        """Which part of the ConcatDataset a (global) index belongs to."""
        return bisect.bisect_right(self.bounds, index)

    def __iter__(self) -> Iterator[List[int]]:
        buckets = [[] for _ in self.bounds]
        for index in self.sampler:
            part = self.part_of(index)
            bucket = buckets[part]
            bucket.append(index)
            if len(bucket) == self.batch_sizes[part]:
                yield bucket
                buckets[part] = []
        if not self.drop_last:
            yield from (bucket for bucket in buckets if bucket)

    def __len__(self) -> int:
        """Batches per epoch."""
        count = 0
        for part, size in enumerate(self.batch_sizes):
            n = self.bounds[part] - (self.bounds[part - 1] if part else 0)
            count += n // size if self.drop_last else -(-n // size)
        return count
