"""Key-locked recovery measured: right / wrong / absent key, and an attacker who fine-tunes G_Y.

    python tools/analysis/keylock_attack.py KEYED_CONFIG KEYED_CKPT
        [--unkeyed-config C --unkeyed-checkpoint K] [--pairs 1000] [--epochs 10] [--out results/keylock]

Portraits are cut exactly as ``tools/test.py`` cuts them (the config's test pipeline: letter-boxed frames,
square portrait boxes, ``portrait_size`` crops).  The victim camera uses a fresh random key k_v and a nonce
per portrait.  Quality: PSNR/SSIM against the original crop (``PortraitQualityMetric``'s settings).

The attacker has everything but k_v: G_X and G_Y weights (a stolen camera export and recovery model),
this code, and people of his own (the first ``--pairs`` portraits of the training split).  He makes
pairs (x, y'_a = lock(G_X(x), k_a)) with his own key k_a and fine-tunes copies of G_Y (L1, Adam 2e-4,
batch 16, ``--epochs`` epochs):

* ``attack: as sent``  – input y' as it is: a decoder that tries to do without the key;
* ``attack: own key``  – input unlock(y', k_a): a decoder for his key, used on the victim's y' with k_a.

His own held-out people locked with k_a show that the fine-tuning itself works ("sanity" rows).  The
"reference" row is the same fine-tuning on (A(x), x) pairs applied to A(x): what the conventional
desensitizer alone gives away to a learned deblurrer, with no carrier at all.
Writes OUT.md, OUT.json and OUT.png (original | y' | right key | wrong key | no key | attacks).
"""
import argparse
import copy
import os
import os.path as osp
import sys
import time

import cv2
import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='key-locked ReCanon config (model.key_lock set)')
    p.add_argument('checkpoint')
    p.add_argument('--unkeyed-config', help='the same system without key_lock, for the "within 1 dB" row')
    p.add_argument('--unkeyed-checkpoint')
    p.add_argument('--pairs', type=int, default=1000, help='attacker training pairs (default 1000)')
    p.add_argument('--epochs', type=int, default=10, help='attacker fine-tuning epochs (default 10)')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='results/keylock', help='output prefix (.md/.json/.png)')
    return p.parse_args(argv)


def portraits(model, cfg, split: str, limit: int = None) -> torch.Tensor:
    """Original crops x (N×3×S×S in [-1, 1]) of a split through the config's test pipeline."""
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    if split == 'train':
        train = cfg.train_dataloader.dataset
        while 'ann_file' not in train and 'dataset' in train:  # RepeatDataset and other wrappers
            train = train.dataset
        loader_cfg.dataset.ann_file = train.ann_file
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=8)
    crops, n = [], 0
    for batch in Runner.build_dataloader(loader_cfg):
        data = model.data_preprocessor(batch, False)
        boxes = model.portrait_boxes(data['data_samples'], use_meta=True)
        crops.append(model.crop(data['inputs'], boxes))
        n += len(crops[-1])
        if limit is not None and n >= limit:
            break
    x = torch.cat(crops)
    return x if limit is None else x[:limit]


def to_images(x: torch.Tensor) -> np.ndarray:
    from mmrecanon.models.recanon import to_pixels, to_uint8
    return to_uint8(to_pixels(x)).permute(0, 2, 3, 1).cpu().numpy()


def quality(original: np.ndarray, other: np.ndarray) -> dict:
    from mmrecanon.evaluation.metrics.portrait_quality import PortraitQualityMetric as Q
    psnr = [min(Q.psnr(a, b), 100.0) for a, b in zip(original, other)]
    ssim = [Q.ssim(a, b) for a, b in zip(original, other)]
    return dict(psnr=float(np.mean(psnr)), ssim=float(np.mean(ssim)))


def finetune(recoverer, inputs: torch.Tensor, targets: torch.Tensor, epochs: int, batch_size: int, seed: int,
             label: str):
    from mmengine.utils import ProgressBar
    net = copy.deepcopy(recoverer).train()
    for p in net.parameters():
        p.requires_grad_(True)
    opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(seed)
    steps = epochs * ((len(inputs) + batch_size - 1) // batch_size)
    print(f'{label}: fine-tuning G_Y on {len(inputs)} pairs, {epochs} epochs ({steps} steps)', flush=True)
    bar = ProgressBar(steps)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=g)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = torch.nn.functional.l1_loss(net(inputs[idx]), targets[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            bar.update()
    print(flush=True)
    return net.eval(), dict(first_l1=float(np.mean(losses[:10])), last_l1=float(np.mean(losses[-10:])))


@torch.no_grad()
def measure(args) -> dict:
    from mmrecanon.apis import init_recanon
    from mmrecanon.apis.inference import in_chunks
    from mmrecanon.models.utils.keylock import random_keys

    torch.manual_seed(args.seed)
    model = init_recanon(args.config, args.checkpoint)
    if model.key_lock is None:
        raise SystemExit(f'error: {args.config} has no model.key_lock: not a key-locked model')
    t0 = time.time()
    x = portraits(model, model.cfg, 'val')
    x_att = portraits(model, model.cfg, 'train', args.pairs)
    n, gen = len(x), torch.Generator().manual_seed(args.seed)
    keys_v, nonces_v = random_keys(n, gen)
    keys_w, _ = random_keys(n, gen)
    y = in_chunks(model.enhance, x, keys_v, nonces_v)
    views = {
        'conventional A(x)': in_chunks(model.desensitizer, x),
        "privacy-enhanced y'": y,
        'recovered, right key': in_chunks(model.recover, y, keys_v, nonces_v),
        'recovered, wrong key': in_chunks(model.recover, y, keys_w, nonces_v),
        'recovered, no key': in_chunks(model.recover, y),
    }
    # the attacker's pairs (his key) and his own held-out people (sanity check of the fine-tuning)
    keys_a, nonces_a = random_keys(len(x_att), gen)
    y_att = in_chunks(model.enhance, x_att, keys_a, nonces_a)
    keys_a_val, nonces_a_val = [keys_a[0]] * n, random_keys(n, gen)[1]
    y_own = in_chunks(model.enhance, x, keys_a_val, nonces_a_val)
    with torch.enable_grad():
        sent_net, sent_log = finetune(model.recoverer, y_att, x_att, args.epochs, args.batch_size, args.seed,
                                      'attack: as sent')
        unlock = model.key_lock.unlock
        own_in = in_chunks(unlock, y_att, keys_a, nonces_a)
        own_net, own_log = finetune(model.recoverer, own_in, x_att, args.epochs, args.batch_size, args.seed,
                                    'attack: own key')
        # what A(x) alone gives away: the same fine-tuning on (A(x), x) pairs, applied to A(x)
        deblur_net, deblur_log = finetune(model.recoverer, in_chunks(model.desensitizer, x_att), x_att, args.epochs,
                                          args.batch_size, args.seed, 'reference: deblur A(x)')
    views["attack: as sent (G_Y fine-tuned on y')"] = in_chunks(sent_net, y)
    views['attack: own key (G_Y fine-tuned, unlock with k_a)'] = in_chunks(
        lambda t, k, nn_: own_net(unlock(t, k, nn_)), y, [keys_a[0]] * n, nonces_v)
    views['reference: G_Y fine-tuned on (A(x), x), on A(x)'] = in_chunks(deblur_net, views['conventional A(x)'])
    sanity = {
        'sanity: as-sent decoder on his own y\'': in_chunks(sent_net, y_own),
        'sanity: own-key decoder on his own y\'': in_chunks(lambda t, k, nn_: own_net(unlock(t, k, nn_)), y_own,
                                                         keys_a_val, nonces_a_val),
    }
    orig = to_images(x)
    rows = {name: quality(orig, to_images(v)) for name, v in {**views, **sanity}.items()}
    result = dict(config=args.config, checkpoint=args.checkpoint, portraits=n, attacker_pairs=len(x_att),
                  attacker_epochs=args.epochs, rows=rows, seconds=None,
                  attacker_loss={'as sent': sent_log, 'own key': own_log, 'deblur A(x)': deblur_log})
    if args.unkeyed_config:
        ref = init_recanon(args.unkeyed_config, args.unkeyed_checkpoint)
        r_ref = in_chunks(lambda t: ref.recover(ref.enhance(t)), x)
        rows['unkeyed system: recovered'] = quality(orig, to_images(r_ref))
        rows["unkeyed system: privacy-enhanced y'"] = quality(orig, to_images(in_chunks(ref.enhance, x)))
    result['seconds'] = time.time() - t0
    save_strip(args.out + '.png', orig, {k: to_images(v[:6]) for k, v in views.items()})
    return result


def save_strip(path: str, orig: np.ndarray, views: dict) -> None:
    cols = [orig[:6]] + list(views.values())
    grid = np.concatenate([np.concatenate(list(c), axis=0) for c in cols], axis=1)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    cv2.imwrite(path, grid)


def render(result: dict) -> str:
    rows = result['rows']
    p = rows["privacy-enhanced y'"]['psnr']
    lines = ['| portraits vs original x | PSNR (dB) | SSIM | check |', '|---|---:|---:|---|']
    for name, q in rows.items():
        check = ''
        if name.startswith(('recovered, wrong', 'recovered, no', 'attack')):
            check = f"≤ PSNR(o,p) + 1 = {p + 1:.2f}: {'met' if q['psnr'] <= p + 1 else 'NOT met'}"
        if name == 'recovered, right key' and 'unkeyed system: recovered' in rows:
            ref = rows['unkeyed system: recovered']['psnr']
            check = f"within 1 dB of unkeyed ({ref:.2f}): {'met' if q['psnr'] >= ref - 1 else 'NOT met'}"
        lines.append(f"| {name} | {q['psnr']:.2f} | {q['ssim']:.4f} | {check} |")
    lines.append('')
    lines.append(f"{result['portraits']} val portraits; attacker: {result['attacker_pairs']} pairs, "
                 f"{result['attacker_epochs']} epochs; {result['seconds']:.0f} s.")
    return '\n'.join(lines)


def main(argv=None) -> int:
    from mmrecanon.runtime import report_main
    args = parse_args(argv)
    files = (args.config, args.checkpoint, args.unkeyed_config, args.unkeyed_checkpoint)
    return report_main(args, measure, render, files=files, together=[('unkeyed_config', 'unkeyed_checkpoint')])


if __name__ == '__main__':
    sys.exit(main())
