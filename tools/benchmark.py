"""CPU speed of the privacy enhancer G_X: PyTorch eager vs ONNX Runtime, against conventional A.

    python tools/benchmark.py [--quick] [--out results/benchmark-cpu.json] [--threads N]

Measures, with ``threads`` = the machine's cores (torch.set_num_threads, ORT intra-op threads):

* every G_X of Tab. 4 -- U-Net 7 on 128-px portraits, U-Net 8 on 256, ResNet 6 / ResNet 9 on 128
  and 256 -- at the paper width (base_channels=64) and the CPU width (16): crops/s in PyTorch
  eager (``torch.inference_mode``) and ONNX Runtime (graph exported with MMDeploy, see
  mmrecanon/deploy/enhancer.py), batch 1 and 8. The timed graph is the deployed one: G_X followed
  by rounding y' to 8-bit levels, in both runtimes. FLOPs(G_X) are counted with mmengine's
  ``FlopAnalyzer`` (which counts multiply-accumulates; FLOPs = 2 x MACs) so every result is also
  an achieved GFLOP/s and a fraction of the machine's dense-conv throughput (a 3x3 conv
  256->256 on 64x64 in torch eager, best of NCHW / channels_last);
* the conventional desensitizers as the floor: Gaussian blur r=8 (cv2.GaussianBlur on uint8
  crops, mmrecanon's torch ``gaussian_blur``) and pixelation block 12 (cv2 INTER_AREA down +
  INTER_NEAREST up; torch ``pixelate``) on the same crops;
* a 640x480 frame with two people (COCO 196141 from ../shared/data/mmpose-tiny, padded to 480
  rows, its two largest person boxes) anonymised end to end -- uint8 frame -> portraits (crop)
  -> G_X -> 8-bit y' -> paste -> uint8 frame -- with the lightest G_X, eager and ORT, and the
  conventional blur of the same people (``desensitize_image``) for reference;
* eager variants (channels_last, TorchScript trace+freeze) and ORT session options (basic vs all
  graph optimisations) on the lightest G_X (and U-Net 7 at the paper width in the full run).

Each number is the median of N timed repeats after warm-up (a measurement stops early, after at
least 3 repeats, once it has run for ``--max-seconds``). Prints Markdown tables, writes the JSON
(``--out``) and a Markdown report next to it (same name, .md) with the command, the machine,
versions, the load average and whether the targets were met (ORT >= 1.5x eager; >= 10 frames/s
end to end with the lightest G_X). Random weights: speed does not depend on them.
"""
import argparse
import datetime
import json
import math
import os
import os.path as osp
import platform
import shlex
import statistics
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FRAME_IMG = osp.join(REPO_ROOT, '..', 'shared', 'data', 'mmpose-tiny', 'coco', '000000196141.jpg')
DYNAMIC_DEPLOY_CFG = osp.join(REPO_ROOT, 'configs', 'deploy', 'enhancer_onnxruntime_dynamic.py')

# Tab. 4 generators: (name, generator config, portrait size).
TAB4 = [
    ('U-Net 7', dict(type='UnetGenerator', num_downs=7), 128),
    ('U-Net 8', dict(type='UnetGenerator', num_downs=8), 256),
    ('ResNet 6', dict(type='ResnetGenerator', num_blocks=6), 128),
    ('ResNet 6', dict(type='ResnetGenerator', num_blocks=6), 256),
    ('ResNet 9', dict(type='ResnetGenerator', num_blocks=9), 128),
    ('ResNet 9', dict(type='ResnetGenerator', num_blocks=9), 256),
]
PAPER_WIDTH, CPU_WIDTH = 64, 16
BATCHES = (1, 8)
BLUR_RADIUS = 8   # the paper's r = 8 (Gaussian sigma in px), also the CPU configs' setting
PIXEL_BLOCK = 12  # Desensitizer's default block (mid-range of the paper's pixelation settings)
STAGE_LABELS = dict(crop='crop', g_x_eager='G_X eager', g_x_ort='G_X ORT', paste='paste')
SPEEDUP_TARGET = 1.5
FPS_TARGET = 10.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='CPU benchmark of G_X (eager vs ONNX Runtime)')
    p.add_argument('--quick', action='store_true',
                   help='CPU width only, fewer repeats (a few minutes; for checking the tool)')
    p.add_argument('--out', help='JSON output (default results/benchmark-cpu.json, '
                   'results/benchmark-cpu-quick.json with --quick); the .md goes next to it')
    p.add_argument('--threads', type=int, help='threads (default: the cores this process may use)')
    p.add_argument('--repeats', type=int, help='timed repeats per measurement (default 7, quick 3)')
    p.add_argument('--max-seconds', type=float,
                   help='time budget per measurement after warm-up (default 15, quick 2)')
    p.add_argument('--note', default='', help='free text added to the Markdown report')
    p.add_argument('--camera', metavar='CONFIG',
                   help='only the camera: a ReCanon config (with --checkpoint) anonymizes the two-person '
                        '640x480 frame through the inference API; writes results/benchmark-camera.json/.md')
    p.add_argument('--checkpoint', help='weights for --camera (default: random; speed does not depend on them)')
    p.add_argument('--pose-checkpoint', help="P's weights for --camera (the converter's output): with random P "
                   "weights P finds nobody and the second row times P alone")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- machine
def machine_info(threads: int) -> Dict:
    import cv2
    import numpy as np
    import onnxruntime as ort
    import torch
    cpu = platform.processor() or 'unknown'
    try:
        with open('/proc/cpuinfo') as f:
            names = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    ram_gib = None
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal'):
                    ram_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        import mmdeploy
        mmdeploy_version = mmdeploy.__version__
    except ImportError:
        mmdeploy_version = None
    return dict(
        cpu=cpu, logical_cpus=os.cpu_count(), usable_cpus=len(os.sched_getaffinity(0)),
        ram_gib=ram_gib, python=platform.python_version(), torch=torch.__version__,
        onnxruntime=ort.__version__, mmdeploy=mmdeploy_version, opencv=cv2.__version__,
        numpy=np.__version__, threads=threads, torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        mkldnn=bool(torch.backends.mkldnn.is_available()), cv2_threads=cv2.getNumThreads(),
        ort_providers=ort.get_available_providers())


# ----------------------------------------------------------------------------- timing
def measure(fn: Callable, warmup: int, repeats: int, max_seconds: float, min_repeats: int = 3):
    """Median seconds of ``fn()`` over timed repeats after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeats:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if len(times) >= min_repeats and time.perf_counter() - start > max_seconds:
            break
    return dict(median_s=statistics.median(times), min_s=min(times), n=len(times))


def gmacs(model, x) -> float:
    """G multiply-accumulates of one forward (mmengine FlopAnalyzer, fvcore counting)."""
    from mmengine.analysis import FlopAnalyzer
    fa = FlopAnalyzer(model, (x, ))
    fa.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings('none')
    return fa.total() / 1e9


def dense_conv(args) -> Dict:
    """Machine's dense-conv throughput: 3x3 conv 256->256, 1x256x64x64, torch eager."""
    import torch
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).eval()
    x = torch.randn(1, 256, 64, 64)
    flop = 2 * 256 * 256 * 9 * 64 * 64
    out = dict(shape='1x256x64x64, 3x3, 256->256', gflop=flop / 1e9)
    with torch.inference_mode():
        for fmt_name, fmt in (('nchw', torch.contiguous_format), ('channels_last', torch.channels_last)):
            c, xx = conv.to(memory_format=fmt), x.contiguous(memory_format=fmt)
            m = measure(lambda: c(xx), args.warmup, args.repeats, args.max_seconds)
            out[f'gflops_{fmt_name}'] = flop / 1e9 / m['median_s']
    out['gflops'] = max(out['gflops_nchw'], out['gflops_channels_last'])
    return out


# ----------------------------------------------------------------------------- G_X
def build_generator(cfg: Dict, width: int):
    from mmpose.registry import MODELS

    from mmrecanon.deploy.enhancer import EnhancerExportModule
    torch_cfg = dict(cfg, base_channels=width)
    g = MODELS.build(torch_cfg)  # default init (N(0, 0.02)); speed does not depend on weights
    return EnhancerExportModule(g.eval(), quantize=True).eval()


def export_onnx(module, size: int, work_dir: str) -> str:
    """MMDeploy export with the dynamic-batch enhancer deploy config at ``size``."""
    from mmengine import Config

    from mmrecanon.deploy.enhancer import export_enhancer_module
    cfg = Config.fromfile(DYNAMIC_DEPLOY_CFG)
    cfg.onnx_config.input_shape = [size, size]
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return export_enhancer_module(module, cfg, work_dir, torch.zeros(1, 3, size, size))


def ort_session(path: str, threads: int, level: str = 'all'):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.graph_optimization_level = dict(
        basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL)[level]
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])


def bench_generator(name, cfg, size, width, args, work_dir) -> Dict:
    import numpy as np
    import torch
    module = build_generator(cfg, width)
    x1 = torch.rand(1, 3, size, size) * 2 - 1
    row = dict(generator=name, size=size, width=width,
               params_m=sum(p.numel() for p in module.parameters()) / 1e6)
    row['gmacs'] = gmacs(module.enhancer, x1)
    row['gflop'] = 2 * row['gmacs']
    onnx_file = export_onnx(module, size, osp.join(work_dir, f'{name}-{size}-{width}'.replace(' ', '')))
    sess = ort_session(onnx_file, args.threads)
    in_name = sess.get_inputs()[0].name
    with torch.inference_mode():
        ref = module(x1).numpy()
    row['ort_max_abs_diff'] = float(np.abs(sess.run(None, {in_name: x1.numpy()})[0] - ref).max())
    for b in BATCHES:
        x = torch.rand(b, 3, size, size) * 2 - 1
        xn = x.numpy()
        with torch.inference_mode():
            m = measure(lambda: module(x), args.warmup, args.repeats, args.max_seconds)
        row[f'eager_b{b}'] = b / m['median_s']
        row[f'eager_b{b}_best'] = b / m['min_s']  # fastest repeat: less sensitive to other load
        row[f'eager_b{b}_n'] = m['n']
        m = measure(lambda: sess.run(None, {in_name: xn}), args.warmup, args.repeats,
                    args.max_seconds)
        row[f'ort_b{b}'] = b / m['median_s']
        row[f'ort_b{b}_best'] = b / m['min_s']
        row[f'ort_b{b}_n'] = m['n']
        row[f'speedup_b{b}'] = row[f'ort_b{b}'] / row[f'eager_b{b}']
    best = max(row[f'{rt}_b{b}'] for rt in ('eager', 'ort') for b in BATCHES)
    row['best_crops_s'] = best
    row['achieved_gflops'] = row['gflop'] * best
    row['onnx'] = onnx_file
    return row, module, onnx_file


def bench_variants(name, size, width, module, onnx_file, args) -> List[Dict]:
    """Eager variants and ORT session options on one G_X (batch 1 and 8)."""
    import torch
    rows = []

    def add(variant, fn_for_batch):
        r = dict(generator=name, size=size, width=width, variant=variant)
        for b in BATCHES:
            fn = fn_for_batch(b)
            if fn is None:
                r[f'b{b}'] = None
                continue
            m = measure(fn, args.warmup, args.repeats, args.max_seconds)
            r[f'b{b}'] = b / m['median_s']
        rows.append(r)

    inputs = {b: torch.rand(b, 3, size, size) * 2 - 1 for b in BATCHES}

    def eager(b):
        def run():
            with torch.inference_mode():
                module(inputs[b])
        return run

    cl = {b: inputs[b].contiguous(memory_format=torch.channels_last) for b in BATCHES}
    module_cl = build_generator_like(module).to(memory_format=torch.channels_last)

    def eager_cl(b):
        def run():
            with torch.inference_mode():
                module_cl(cl[b])
        return run

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')
        try:
            traced = torch.jit.optimize_for_inference(torch.jit.trace(module, inputs[1]))
            jit_error = None
        except Exception as e:  # report, do not fail the benchmark
            traced, jit_error = None, f'{type(e).__name__}: {e}'.splitlines()[0]

    def jit(b):
        if traced is None:
            return None

        def run():
            with torch.no_grad():
                traced(inputs[b])
        return run

    add('eager (NCHW)', eager)
    add('eager channels_last', eager_cl)
    add('TorchScript trace + optimize_for_inference', jit)
    if jit_error:
        rows[-1]['error'] = jit_error
    for level in ('basic', 'all'):
        sess = ort_session(onnx_file, args.threads, level)
        nm = sess.get_inputs()[0].name
        arrays = {b: inputs[b].numpy() for b in BATCHES}
        add(f'ORT graph opt {level}, {args.threads} intra-op threads',
            lambda b, s=sess, n=nm: (lambda: s.run(None, {n: arrays[b]})))
    return rows


def build_generator_like(module):
    import copy
    return copy.deepcopy(module).eval()


# ----------------------------------------------------------------------------- conventional A
def crops_uint8(b: int, size: int):
    """Real portrait crops (uint8 HWC BGR) of the frame image, ``b`` of them (repeated)."""
    import numpy as np
    import torch

    from mmrecanon.deploy.enhancer import load_portraits
    x, _ = load_portraits(FRAME_IMG, size)
    u8 = torch.round((x + 1) * 127.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [np.ascontiguousarray(u8[i % len(u8)]) for i in range(b)], x


def bench_baselines(args) -> List[Dict]:
    import cv2
    import torch

    from mmrecanon.models.utils.desensitize import gaussian_blur, pixelate
    rows = []
    ksize = 2 * math.ceil(3 * BLUR_RADIUS) + 1  # as the torch A (49 taps at r = 8)
    for size in (128, 256):
        for b in BATCHES:
            u8, x = crops_uint8(b, size)
            xt = x.repeat(-(-b // x.shape[0]), 1, 1, 1)[:b]  # the same real crops, cycled
            fns = {
                ('blur r=8', 'cv2'): lambda: [cv2.GaussianBlur(c, (ksize, ksize), BLUR_RADIUS,
                                                               borderType=cv2.BORDER_REFLECT_101)
                                              for c in u8],
                ('blur r=8', 'torch'): lambda: gaussian_blur(xt, BLUR_RADIUS),
                ('pixelate 12', 'cv2'): lambda: [cv2.resize(cv2.resize(
                    c, (size // PIXEL_BLOCK, size // PIXEL_BLOCK), interpolation=cv2.INTER_AREA),
                    (size, size), interpolation=cv2.INTER_NEAREST) for c in u8],
                ('pixelate 12', 'torch'): lambda: pixelate(xt, PIXEL_BLOCK),
            }
            for (kind, impl), fn in fns.items():
                with torch.inference_mode():
                    m = measure(fn, args.warmup, args.repeats, args.max_seconds)
                rows.append(dict(method=kind, impl=impl, size=size, batch=b,
                                 crops_s=b / m['median_s']))
    return rows


# ----------------------------------------------------------------------------- end to end
def frame_with_two_people():
    """640x480 BGR uint8 frame (COCO 196141 padded at the bottom) + its 2 largest person boxes."""
    import cv2
    import numpy as np

    from mmrecanon.deploy.enhancer import coco_person_boxes
    img = cv2.imread(FRAME_IMG)
    if img is None:
        raise FileNotFoundError(f'frame image not found: {FRAME_IMG}')
    h, w = img.shape[:2]
    img = cv2.copyMakeBorder(img[:480, :640], 0, max(0, 480 - h), 0, max(0, 640 - w),
                             cv2.BORDER_CONSTANT, value=(114, 114, 114))
    boxes = coco_person_boxes(FRAME_IMG)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return img, boxes[np.argsort(-area)[:2]]


def bench_end_to_end(name, size, width, module, onnx_file, args) -> List[Dict]:
    import numpy as np
    import torch

    from mmrecanon.datasets.transforms.desensitize import desensitize_image
    from mmrecanon.models.recanon import to_pixels, to_unit
    from mmrecanon.models.utils.portrait import crop_portraits, paste_portraits, square_boxes
    frame, boxes = frame_with_two_people()
    margin = 1.25  # ReCanon's portrait_margin
    sess = ort_session(onnx_file, args.threads)
    in_name = sess.get_inputs()[0].name

    def pipeline(g_x):
        def run():
            with torch.inference_mode():
                img = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
                sq = [square_boxes(torch.from_numpy(boxes), margin)]
                x = crop_portraits(to_unit(img), sq, size, pad_value=0.0)
                y = g_x(x)  # already on 8-bit levels
                out = paste_portraits(img, to_pixels(y).clamp(0, 255), sq)
                return torch.round(out[0]).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        return run

    eager = pipeline(module)
    ort_fn = pipeline(lambda x: torch.from_numpy(sess.run(None, {in_name: x.numpy()})[0]))
    a, b = eager(), ort_fn()
    rows = []
    for label, fn in ((f'{name} {size}px w{width}, PyTorch eager', eager),
                      (f'{name} {size}px w{width}, ONNX Runtime', ort_fn),
                      (f'conventional blur r={BLUR_RADIUS} (cv2, desensitize_image)',
                       lambda: desensitize_image(frame, boxes, 'blur', radius=BLUR_RADIUS,
                                                 margin=margin))):
        m = measure(fn, args.warmup, args.repeats, args.max_seconds)
        rows.append(dict(pipeline=label, frames_s=1 / m['median_s'], ms=1e3 * m['median_s']))
    rows[1]['max_pixel_diff_vs_eager'] = int(np.abs(a.astype(int) - b.astype(int)).max())

    # where the time goes (median ms per stage, same inputs)
    with torch.inference_mode():
        img = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
        sq = [square_boxes(torch.from_numpy(boxes), margin)]
        x = crop_portraits(to_unit(img), sq, size, pad_value=0.0)
        y = module(x)
        xn = x.numpy()
        stages = dict(
            crop=lambda: crop_portraits(to_unit(img), sq, size, pad_value=0.0),
            g_x_eager=lambda: module(x),
            g_x_ort=lambda: sess.run(None, {in_name: xn}),
            paste=lambda: paste_portraits(img, to_pixels(y).clamp(0, 255), sq))
        ms = {k: 1e3 * measure(f, args.warmup, args.repeats, args.max_seconds)['median_s']
              for k, f in stages.items()}
    for r in rows[:2]:
        r['stages_ms'] = ms
    return rows


def bench_camera(args) -> Dict:
    """The camera's job on the two-person 640x480 frame, through ``mmrecanon.apis.anonymize_image``.

    Rows: the given person boxes (a detector upstream), and P finding the people itself (P letter-boxes
    the frame to its input size); native-resolution models tile every person at the frame's resolution.
    """
    import numpy as np

    from mmrecanon.apis import anonymize_image, init_recanon
    from mmrecanon.models.utils.tiles import native_regions, region_tiles
    frame, boxes = frame_with_two_people()
    model = init_recanon(args.camera, args.checkpoint, pose_checkpoint=args.pose_checkpoint)
    native = bool(getattr(model, 'native_resolution', False))
    rows = []
    for label, kw in (('G_X on the given person boxes', dict(boxes=boxes, estimate=False)),
                      ('P finds the people, then G_X', dict())):
        m = measure(lambda: anonymize_image(model, frame, **kw), args.warmup, args.repeats, args.max_seconds)
        found = len(anonymize_image(model, frame, **kw)['person_boxes'])
        rows.append(dict(pipeline=label, frames_s=1 / m['median_s'], ms=1e3 * m['median_s'], people=found))
    regions, _ = native_regions(boxes, frame.shape[:2], model.portrait_margin, model.portrait_size)
    tiles = sum(len(region_tiles(r, model.portrait_size)) for r in regions) if native else len(boxes)
    return dict(config=args.camera, checkpoint=args.checkpoint, pose_checkpoint=args.pose_checkpoint,
                native_resolution=native,
                portrait_size=model.portrait_size, frame=list(frame.shape), person_boxes=boxes.tolist(),
                regions=regions.tolist() if native else None, tiles=int(tiles), rows=rows,
                fps_target=FPS_TARGET, fps_met=bool(rows[0]['frames_s'] >= FPS_TARGET),
                np_version=np.__version__)


def camera_report(res: Dict) -> str:
    m, load = res['machine'], res['load_average']
    lines = ['# Camera speed: a 640x480 frame with two people, through the inference API', '',
             f"Command: `{res['command']}` ({res['date']})", '',
             f"Machine: {m['cpu']}, {m['usable_cpus']} usable cores, torch {m['torch']} "
             f"(threads {m['torch_threads']}). Load average (1 min) before / after: {load['before'][0]:.2f} / "
             f"{load['after'][0]:.2f}.", '',
             f"Model: `{res['config']}` ({'native resolution: ' + str(res['tiles']) + ' tiles of ' + str(res['portrait_size']) + ' px' if res['native_resolution'] else str(res['tiles']) + ' portraits of ' + str(res['portrait_size']) + ' px'}); "
             f"weights: {res['checkpoint'] or 'random (speed does not depend on them)'}.", '',
             f"P's weights: {res.get('pose_checkpoint') or 'those of --checkpoint'}.", '',
             '| pipeline | frames/s | ms/frame | people anonymized |', '|---|---|---|---|']
    lines += [f"| {r['pipeline']} | {fmt(r['frames_s'])} | {fmt(r['ms'])} | {r.get('people', '–')} |"
              for r in res['rows']]
    lines += ['', f"Target >= {FPS_TARGET:.0f} frames/s with the person boxes given: "
              f"{'met' if res['fps_met'] else 'not met'}."]
    return '\n'.join(lines) + '\n'


# ----------------------------------------------------------------------------- report
def fmt(v, nd=1):
    if v is None:
        return '–'
    if isinstance(v, float):
        if v >= 100:
            return f'{v:.0f}'
        return f'{v:.{nd}f}' if v >= 1 else f'{v:.3g}'
    return str(v)


def tables(res: Dict) -> str:
    dense = res['dense_conv']['gflops']
    lines = ['### G_X (Tab. 4 generators): crops/s, batch 1 / 8',
             '',
             '| G_X | portrait | width | GFLOP/crop | params (M) | eager b1 | eager b8 | ORT b1 '
             '| ORT b8 | ORT/eager b1 | ORT/eager b8 | achieved GFLOP/s | of dense conv |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in res['generators']:
        lines.append(
            f"| {r['generator']} | {r['size']} | {r['width']} | {fmt(r['gflop'], 2)} | "
            f"{fmt(r['params_m'], 2)} | {fmt(r['eager_b1'])} | {fmt(r['eager_b8'])} | "
            f"{fmt(r['ort_b1'])} | {fmt(r['ort_b8'])} | {r['speedup_b1']:.2f}x | "
            f"{r['speedup_b8']:.2f}x | {fmt(r['achieved_gflops'])} | "
            f"{100 * r['achieved_gflops'] / dense:.0f}% |")
    d = res['dense_conv']
    lines += ['', f"Dense-conv reference ({d['shape']}, torch eager): {d['gflops_nchw']:.1f} "
              f"GFLOP/s NCHW, {d['gflops_channels_last']:.1f} GFLOP/s channels_last. "
              'GFLOP = 2 x MACs (mmengine FlopAnalyzer); achieved GFLOP/s uses the best of the '
              'four crops/s columns.', '',
              '### Conventional desensitizers A (the floor): crops/s', '',
              '| A | impl | portrait | batch 1 | batch 8 |', '|---|---|---|---|---|']
    base = {}
    for r in res['baselines']:
        base.setdefault((r['method'], r['impl'], r['size']), {})[r['batch']] = r['crops_s']
    for (method, impl, size), v in base.items():
        lines.append(f'| {method} | {impl} | {size} | {fmt(v.get(1))} | {fmt(v.get(8))} |')
    lines += ['', '### 640x480 frame, two people, end to end (crop -> G_X -> 8-bit -> paste)', '',
              '| pipeline | frames/s | ms/frame |', '|---|---|---|']
    for r in res['end_to_end']:
        lines.append(f"| {r['pipeline']} | {fmt(r['frames_s'])} | {fmt(r['ms'])} |")
    st = next((r['stages_ms'] for r in res['end_to_end'] if 'stages_ms' in r), None)
    if st:
        lines += ['', 'Stages (ms, 2 portraits): ' + ', '.join(
            f'{STAGE_LABELS.get(k, k)} {v:.1f}' for k, v in st.items()) +
            ' (crop = roi_align, paste = grid_sample: mmrecanon/models/utils/portrait.py).']
    lines += ['', '### Runtime settings tried (crops/s)', '', '| G_X | variant | batch 1 | batch 8 |',
              '|---|---|---|---|']
    for r in res['variants']:
        note = f" ({r['error']})" if r.get('error') else ''
        lines.append(f"| {r['generator']} {r['size']}px w{r['width']} | {r['variant']}{note} | "
                     f"{fmt(r['b1'])} | {fmt(r['b8'])} |")
    return '\n'.join(lines)


def targets(res: Dict) -> Dict:
    gens = res['generators']
    met = [r for r in gens if min(r['speedup_b1'], r['speedup_b8']) >= SPEEDUP_TARGET]
    e2e = {('ort' if 'ONNX' in r['pipeline'] else 'eager'): r['frames_s']
           for r in res['end_to_end'] if 'conventional' not in r['pipeline']}
    return dict(
        ort_speedup_target=SPEEDUP_TARGET,
        ort_speedup_met=f'{len(met)}/{len(gens)}',
        ort_speedup_range=[min(min(r['speedup_b1'], r['speedup_b8']) for r in gens),
                           max(max(r['speedup_b1'], r['speedup_b8']) for r in gens)],
        fps_target=FPS_TARGET,
        fps_eager=e2e.get('eager'), fps_ort=e2e.get('ort'),
        fps_met=bool(max(e2e.values()) >= FPS_TARGET))


def markdown_report(res: Dict) -> str:
    m, t = res['machine'], res['targets']
    lo, hi = t['ort_speedup_range']
    load = res['load_average']
    # the run itself keeps every core busy, so only the load before it says whether others were running
    busy = load['before'][0] > 0.5 * m['usable_cpus']
    lines = [
        '# CPU benchmark of G_X (privacy enhancer): PyTorch eager vs ONNX Runtime', '',
        f"Command: `{res['command']}` ({res['mode']} run, {res['date']})", '',
        f"Machine: {m['cpu']}, {m['usable_cpus']} usable cores ({m['logical_cpus']} logical), "
        f"{m['ram_gib']} GiB RAM. Python {m['python']}, torch {m['torch']} "
        f"(threads {m['torch_threads']}, inter-op {m['torch_interop_threads']}, mkldnn "
        f"{m['mkldnn']}), onnxruntime {m['onnxruntime']} (CPUExecutionProvider, intra-op threads "
        f"{m['threads']}, inter-op 1, sequential, graph optimisation ALL), mmdeploy "
        f"{m['mmdeploy']}, OpenCV {m['opencv']} (threads {m['cv2_threads']}).", '',
        f"Load average (1 min) before / after the run: {load['before'][0]:.2f} / "
        f"{load['after'][0]:.2f} on {m['usable_cpus']} cores.",
    ]
    if busy:
        lines.append('**Other processes were using the cores during this run: the timings are '
                     'distorted (too low, noisy) and only indicative.**')
    if res.get('note'):
        lines += ['', res['note']]
    lines += [
        '', 'Method: random weights (speed does not depend on them); timed graph = G_X + rounding '
        "y' to 8-bit levels (the deployed graph, mmrecanon/deploy/enhancer.py), exported with "
        'MMDeploy (configs/deploy/enhancer_onnxruntime_dynamic.py, batch axis dynamic). '
        f"Median of up to {res['settings']['repeats']} timed repeats after "
        f"{res['settings']['warmup']} warm-up run(s) (>= 3 repeats, each measurement capped at "
        f"~{res['settings']['max_seconds']} s).", '',
        tables(res), '', '## Targets', '',
        f"* ONNX Runtime G_X >= {SPEEDUP_TARGET}x eager: met by {t['ort_speedup_met']} "
        f"G_X configurations (ORT/eager from {lo:.2f}x to {hi:.2f}x over batch 1 and 8).",
        f"* 640x480 frame with two people at >= {FPS_TARGET:.0f} frames/s with the lightest G_X: "
        f"{'met' if t['fps_met'] else 'not met'} (eager {fmt(t['fps_eager'])}, ONNX Runtime "
        f"{fmt(t['fps_ort'])} frames/s).",
    ]
    return '\n'.join(lines) + '\n'


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(FRAME_IMG):
        print(f'error: frame image not found: {FRAME_IMG} (../shared/data/mmpose-tiny)',
              file=sys.stderr)
        return 2
    threads = args.threads or len(os.sched_getaffinity(0))
    args.threads = threads
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.max_seconds = args.max_seconds or (2.0 if args.quick else 15.0)
    args.warmup = 1  # one untimed call allocates buffers / builds kernels; more adds nothing
    out = args.out or osp.join(REPO_ROOT, 'results',
                               'benchmark-cpu-quick.json' if args.quick else 'benchmark-cpu.json')

    import cv2
    import torch
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    import mmrecanon  # noqa: F401  (registers the generators, dynamo-free ONNX export)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmengine').setLevel('WARNING')  # silence the export log lines
    info = machine_info(threads)
    if args.camera:
        load_before = os.getloadavg()
        cli = argv if argv is not None else sys.argv[1:]
        res = bench_camera(args)
        res.update(command=shlex.join(['python', 'tools/benchmark.py'] + list(cli)), machine=info,
                   date=datetime.datetime.now().isoformat(timespec='seconds'),
                   load_average=dict(before=list(load_before), after=list(os.getloadavg())))
        out = args.out or osp.join(REPO_ROOT, 'results', 'benchmark-camera.json')
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w') as f:
            json.dump(res, f, indent=1)
        report = camera_report(res)
        with open(osp.splitext(out)[0] + '.md', 'w') as f:
            f.write(report)
        print(report)
        return 0
    print(f"threads: torch {info['torch_threads']} (inter-op {info['torch_interop_threads']}), "
          f"ORT intra-op {threads}, cv2 {info['cv2_threads']}; CPU {info['cpu']}, "
          f"{info['usable_cpus']} cores", flush=True)
    load_before = os.getloadavg()
    cli = argv if argv is not None else sys.argv[1:]
    res = dict(command=shlex.join(['python', 'tools/benchmark.py'] + list(cli)),
               mode='quick' if args.quick else 'full',
               date=datetime.datetime.now().isoformat(timespec='seconds'), machine=info,
               settings=dict(repeats=args.repeats, warmup=args.warmup,
                             max_seconds=args.max_seconds, batches=list(BATCHES),
                             blur_radius=BLUR_RADIUS, pixel_block=PIXEL_BLOCK),
               note=args.note)
    res['dense_conv'] = dense_conv(args)
    print(f"dense conv: {res['dense_conv']['gflops']:.1f} GFLOP/s", flush=True)

    widths = (CPU_WIDTH, ) if args.quick else (PAPER_WIDTH, CPU_WIDTH)
    res['generators'], res['variants'] = [], []
    kept = {}
    with tempfile.TemporaryDirectory(prefix='mmrecanon-bench-') as work_dir:
        for width in widths:
            for name, cfg, size in TAB4:
                t0 = time.time()
                row, module, onnx_file = bench_generator(name, cfg, size, width, args, work_dir)
                res['generators'].append(row)
                kept[(name, size, width)] = (row, module, onnx_file)
                print(f"{name} {size}px w{width}: {row['gflop']:.2f} GFLOP, eager "
                      f"{row['eager_b1']:.1f}/{row['eager_b8']:.1f}, ORT {row['ort_b1']:.1f}/"
                      f"{row['ort_b8']:.1f} crops/s (b1/b8) [{time.time() - t0:.0f} s]", flush=True)
        lightest = min(res['generators'], key=lambda r: r['gflop'])
        key = (lightest['generator'], lightest['size'], lightest['width'])
        picks = [key] + ([] if args.quick else [('U-Net 7', 128, PAPER_WIDTH)])
        for k in picks:
            _, module, onnx_file = kept[k]
            res['variants'] += bench_variants(*k, module, onnx_file, args)
        _, module, onnx_file = kept[key]
        res['end_to_end'] = bench_end_to_end(*key, module, onnx_file, args)
        res['baselines'] = bench_baselines(args)
    for row in res['generators']:
        row.pop('onnx', None)
    res['load_average'] = dict(before=list(load_before), after=list(os.getloadavg()))
    res['targets'] = targets(res)

    print()
    print(tables(res))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(res, f, indent=1)
    md = osp.splitext(out)[0] + '.md'
    with open(md, 'w') as f:
        f.write(markdown_report(res))
    print(f'\nwrote {out} and {md}')
    return 0


if __name__ == '__main__':
    sys.path.insert(0, REPO_ROOT)
    sys.exit(main())
