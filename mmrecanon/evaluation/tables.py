"""Tables of the paper from the metrics of one or more test runs.

Table 1 (COCO) / Table 2 (MPII): one row per (desensitizer, method) with
PSNR/SSIM of the privacy-enhanced (o,p) and recovered (o,r) person crops and
mAP@0.5 / mAR@0.5 of P on the original, privacy-enhanced and recovered images
and of a zero-shot P (trained on originals only) on the privacy-enhanced image
(+ PCKh@0.5 for MPII). For a *Conventional* row, "privacy-enhanced" is the
conventional desensitizer output A(x) and there is no recovery.

A tables dict (JSON-serialisable) looks like::

    {'dataset': 'COCO',
     'main': {'title': ..., 'columns': [{'key', 'label', 'scale', 'digits'}, ...],
              'rows': [{'method': 'Ours', 'desensitizer': 'blur r=8',
                        'desensitizer_cfg': {...} | None,
                        'values': {column key: float | None}}]},
     'coco_full': {... same layout, full COCO AP/AR per view ...},
     'legend': '...'}

Values are stored as the metrics report them (AP/AR as fractions, PCKh in %,
PSNR in dB); ``scale`` and ``digits`` are only used for rendering (AP/AR are
shown in %).
"""
import copy
import json
import math
import re
from numbers import Number
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Union

MISSING = '—'

METHOD_LABELS = {'ours': 'Ours', 'conventional': 'Conventional'}

# columns of P's accuracy: (view of an 'ours' row, short label)
_POSE_VIEWS = (('original', 'o'), ('enhanced', 'p'), ('recovered', 'r'),
               ('zeroshot', 'p zero-shot'))
# the conventional baseline's privacy-enhanced image is A(x) and it has no recovery
_CONVENTIONAL_VIEW = {'original': 'original', 'enhanced': 'conventional', 'recovered': None,
                      'zeroshot': 'zeroshot'}
# views in the full COCO AP/AR line (raw views, no method mapping)
_FULL_VIEWS = (('original', 'o'), ('enhanced', "y'"), ('recovered', "x'"),
               ('conventional', 'A(x)'), ('zeroshot', 'p zero-shot'))
_DESENS_ORDER = {'blur': 0, 'gaussian_blur': 0, 'pixelate': 1, 'pixel': 1, 'mosaic': 1,
                 'noise': 2, 'gaussian_noise': 2}

LEGEND = ("o = original x; p = privacy-enhanced image (y' = G_X(x) for Ours, A(x) for "
          "Conventional); r = recovered x' = G_Y(y'); zero-shot P = P trained on original "
          "images only; leak = PSNR(o, lowpass(p)) - PSNR(o, lowpass(A(x))), Gaussian σ = 2 px "
          '(what p shows the eye beyond A(x)). PSNR in dB; mAP/mAR (OKS) and PCKh in %; '
          f'{MISSING} = not available.')


# ---------------------------------------------------------------------- helpers
def _to_float(value) -> Optional[float]:
    if value is None:
        return None
    if hasattr(value, 'item'):
        value = value.item()
    if isinstance(value, Number):
        return float(value)
    raise TypeError(f'metric value must be a number, got {type(value).__name__}')


def find_metric(metrics: dict, name: str, view: Optional[str] = None) -> Optional[float]:
    """Value of the metric whose last key segment is ``name`` (and, if given,
    which has ``view`` as an earlier segment), e.g. ``enhanced/coco/AP .5``
    for ``name='AP .5', view='enhanced'``; None if absent. With several
    matches the alphabetically first key is used."""
    hits = []
    for key in metrics:
        parts = key.split('/')
        if parts[-1] != name:
            continue
        if view is not None and view not in parts[:-1]:
            continue
        if view is None and any(p in dict(_FULL_VIEWS) for p in parts[:-1]):
            continue
        hits.append(key)
    return _to_float(metrics[sorted(hits)[0]]) if hits else None


# strength parameter r of each kind of mmrecanon's ``Desensitizer`` (A)
_STRENGTH_KEYS = {'blur': ('radius', 'r'), 'pixelate': ('block', 'r'), 'noise': ('sigma', 'σ')}
# fallback for other desensitizer configs
_GENERIC_STRENGTH_KEYS = (('radius', 'r'), ('r', 'r'), ('block', 'r'), ('block_size', 'r'),
                          ('sigma', 'σ'), ('std', 'σ'))


def _strength(cfg: dict):
    """(symbol, value) of a desensitizer config's strength r, or None."""
    kind = cfg.get('kind')
    keys = (_STRENGTH_KEYS[kind], ) if kind in _STRENGTH_KEYS else _GENERIC_STRENGTH_KEYS
    for key, symbol in keys:
        value = cfg.get(key)
        if isinstance(value, Number) and not isinstance(value, bool):
            return symbol, value
    return None


def describe_desensitizer(desensitizer: Union[None, str, dict]) -> str:
    """Short row label of a desensitizer config, e.g.
    ``dict(type='Desensitizer', kind='blur', radius=8)`` -> ``'blur r=8'``,
    ``dict(type='Desensitizer', kind='pixelate', block=12)`` -> ``'pixelate r=12'``."""
    if desensitizer is None:
        return 'unknown'
    if isinstance(desensitizer, str):
        return desensitizer
    if not isinstance(desensitizer, dict):
        raise TypeError('desensitizer must be a str, a dict or None, '
                        f'got {type(desensitizer).__name__}')
    kind = desensitizer.get('kind') or desensitizer.get('type') or 'unknown'
    strength = _strength(desensitizer)
    if strength is None:
        return str(kind)
    symbol, value = strength
    value = int(value) if float(value).is_integer() else value
    return f'{kind} {symbol}={value}'


def _desensitizer_strength(row: dict) -> float:
    strength = _strength(row.get('desensitizer_cfg') or {})
    if strength is not None:
        return float(strength[1])
    match = re.search(r'=\s*([0-9.]+)', row.get('desensitizer', ''))
    return float(match.group(1)) if match else math.inf


def _desensitizer_kind(row: dict) -> str:
    cfg = row.get('desensitizer_cfg') or {}
    return str(cfg.get('kind') or row.get('desensitizer', '').split(' ')[0])


def _row_sort_key(row: dict):
    kind = _desensitizer_kind(row)
    method_order = {'Conventional': 0, 'Ours': 1}.get(row['method'], 2)
    return (_DESENS_ORDER.get(kind, 9), kind, _desensitizer_strength(row), method_order,
            row['method'])


def _column(key: str, label: str, scale: float, digits: int) -> dict:
    return {'key': key, 'label': label, 'scale': scale, 'digits': digits}


def main_columns(dataset: str) -> List[dict]:
    """Columns of Table 1 (COCO) or Table 2 (MPII, with PCKh@0.5)."""
    cols = [
        _column('psnr_o_p', 'PSNR(o,p)', 1, 2),
        _column('ssim_o_p', 'SSIM(o,p)', 1, 4),
        _column('leak_db', 'leak (dB)', 1, 2),
        _column('psnr_o_r', 'PSNR(o,r)', 1, 2),
        _column('ssim_o_r', 'SSIM(o,r)', 1, 4),
    ]
    for view, short in _POSE_VIEWS:
        cols.append(_column(f'{view}/mAP@0.5', f'mAP@0.5 {short}', 100, 1))
        cols.append(_column(f'{view}/mAR@0.5', f'mAR@0.5 {short}', 100, 1))
        if dataset == 'MPII':
            cols.append(_column(f'{view}/PCKh@0.5', f'PCKh@0.5 {short}', 1, 1))
    return cols


def full_coco_columns() -> List[dict]:
    """Columns of the full COCO AP/AR (OKS 0.50:0.95) line, one pair per raw view."""
    cols = []
    for view, short in _FULL_VIEWS:
        cols.append(_column(f'{view}/AP', f'AP {short}', 100, 1))
        cols.append(_column(f'{view}/AR', f'AR {short}', 100, 1))
    return cols


def _main_values(metrics: dict, method: str, dataset: str) -> Dict[str, Optional[float]]:
    values = {}
    conventional = method == 'conventional'
    # portrait quality: the conventional baseline's "p" is A(x), it has no "r"
    values['psnr_o_p'] = find_metric(metrics, 'psnr_o_A' if conventional else 'psnr_o_p')
    values['ssim_o_p'] = find_metric(metrics, 'ssim_o_A' if conventional else 'ssim_o_p')
    # visible leak: PSNR(o, lowpass(y')) - PSNR(o, lowpass(A(x))); 0 by definition for A(x) itself
    values['leak_db'] = 0.0 if conventional else find_metric(metrics, 'leak_db')
    values['psnr_o_r'] = None if conventional else find_metric(metrics, 'psnr_o_r')
    values['ssim_o_r'] = None if conventional else find_metric(metrics, 'ssim_o_r')
    for view, _ in _POSE_VIEWS:
        src = _CONVENTIONAL_VIEW[view] if conventional else view
        for stat, name in (('mAP@0.5', 'AP .5'), ('mAR@0.5', 'AR .5'), ('PCKh@0.5', 'PCKh')):
            if stat == 'PCKh@0.5' and dataset != 'MPII':
                continue
            values[f'{view}/{stat}'] = None if src is None else find_metric(metrics, name, src)
    return values


# ---------------------------------------------------------------------- public API
def build_tables(metrics: dict,
                 method: str,
                 desensitizer: Union[None, str, dict],
                 dataset: Optional[str] = None) -> dict:
    """Build the paper's table rows for one test run.

    Args:
        metrics (dict): Metrics as returned by ``Runner.test()`` (keys such
            as ``portrait/psnr_o_p``, ``enhanced/coco/AP .5``,
            ``recovered/pckh/PCKh``).
        method (str): ``'ours'`` or ``'conventional'`` (case-insensitive).
        desensitizer (str | dict | None): Row label or the desensitizer
            config (``dict(type='Desensitizer', kind='blur', radius=8)``).
        dataset (str, optional): ``'COCO'`` (Table 1) or ``'MPII'``
            (Table 2, adds PCKh@0.5). Default: MPII if a ``PCKh`` metric is
            present, else COCO.

    Returns:
        dict: Tables dict (see the module docstring) with one row.
    """
    if not isinstance(metrics, dict):
        raise TypeError(f'metrics must be a dict, got {type(metrics).__name__}')
    method_key = str(method).lower()
    if method_key not in METHOD_LABELS:
        raise ValueError(f"method must be 'ours' or 'conventional', got {method!r}")
    if dataset is None:
        dataset = 'MPII' if any(k.split('/')[-1] == 'PCKh' for k in metrics) else 'COCO'
    dataset = dataset.upper()
    if dataset not in ('COCO', 'MPII'):
        raise ValueError(f"dataset must be 'COCO' or 'MPII', got {dataset!r}")

    row_base = {
        'method': METHOD_LABELS[method_key],
        'desensitizer': describe_desensitizer(desensitizer),
        'desensitizer_cfg': copy.deepcopy(desensitizer) if isinstance(desensitizer, dict) else None,
    }
    full_values = {}
    for view, _ in _FULL_VIEWS:
        full_values[f'{view}/AP'] = find_metric(metrics, 'AP', view)
        full_values[f'{view}/AR'] = find_metric(metrics, 'AR', view)
    number = 1 if dataset == 'COCO' else 2
    return {
        'dataset': dataset,
        'main': {
            'title': f'Table {number} ({dataset}): privacy protection, recovery and pose accuracy',
            'columns': main_columns(dataset),
            'rows': [dict(row_base, values=_main_values(metrics, method_key, dataset))],
        },
        'coco_full': {
            'title': 'Full COCO keypoint AP / AR (OKS 0.50:0.95) of P per view',
            'columns': full_coco_columns(),
            'rows': [dict(copy.deepcopy(row_base), values=full_values)],
        },
        'legend': LEGEND,
    }


def merge_tables(tables_list: Iterable[dict]) -> dict:
    """Merge the rows of several tables dicts (e.g. Conventional + Ours runs on
    the same dataset) into one, sorted by desensitizer kind, strength and
    method (Conventional first). A later row with the same (method,
    desensitizer) label replaces an earlier one."""
    tables_list = list(tables_list)
    if not tables_list:
        raise ValueError('merge_tables needs at least one tables dict')
    datasets = {t['dataset'] for t in tables_list}
    if len(datasets) != 1:
        raise ValueError(f'cannot merge tables of different datasets: {sorted(datasets)}')
    merged = copy.deepcopy(tables_list[0])
    for part in ('main', 'coco_full'):
        rows = {}
        for tables in tables_list:
            for row in tables[part]['rows']:
                rows[(row['method'], row['desensitizer'])] = copy.deepcopy(row)
        merged[part]['rows'] = sorted(rows.values(), key=_row_sort_key)
    return merged


def load_result(path: Union[str, Path]) -> dict:
    """The whole JSON a ``tools/test.py`` run wrote (``metrics``, ``tables``, ...): its work dir or the file."""
    path = Path(path)
    if path.is_dir():
        path = path / 'tables.json'
    if not path.is_file():
        raise FileNotFoundError(f'results file not found: {path}')
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f'{path} holds no test results')
    return data


def load_tables(path: Union[str, Path]) -> dict:
    """Tables dict from a ``tables.json`` written by ``tools/test.py`` (or
    from a JSON file holding a tables dict directly)."""
    try:
        data = load_result(path)
    except ValueError:
        data = None
    tables = data.get('tables', data) if isinstance(data, dict) else None
    if not isinstance(tables, dict) or 'main' not in tables:
        raise ValueError(f'{path} holds no mmrecanon tables')
    return tables


def merge_result_files(paths: Sequence[Union[str, Path]]) -> dict:
    """Merged tables dict of several ``tables.json`` files."""
    return merge_tables(load_tables(p) for p in paths)


def format_value(value: Optional[float], column: dict) -> str:
    """Cell text: scaled, rounded value or '—' when missing / not finite."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value * column['scale']:.{column['digits']}f}"


def _render_table(table: dict, lead_columns: Sequence[tuple]) -> List[str]:
    header = [label for label, _ in lead_columns] + [c['label'] for c in table['columns']]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join([' --- '] * len(lead_columns) +
                            [' ---: '] * len(table['columns'])) + '|']
    for row in table['rows']:
        cells = [str(getter(row)) for _, getter in lead_columns]
        cells += [format_value(row['values'].get(c['key']), c) for c in table['columns']]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


_LEAD = (('Desensitizer', lambda r: r['desensitizer']), ('Method', lambda r: r['method']))


def render_markdown(tables: dict) -> str:
    """Markdown of a tables dict: the main table, the legend and, when any
    value exists, the full COCO AP/AR per view."""
    lines = [f"### {tables['main']['title']}", '']
    lines += _render_table(tables['main'], _LEAD)
    lines += ['', tables.get('legend', LEGEND)]
    full = tables.get('coco_full')
    if full and any(v is not None for r in full['rows'] for v in r['values'].values()):
        lines += ['', f"#### {full['title']}", '']
        lines += _render_table(full, _LEAD)
    return '\n'.join(lines) + '\n'


def render_keylock_markdown(metrics: dict) -> str:
    """Recovery of a key-locked model with the right, a wrong and no key (empty for other models)."""
    rows = (("privacy-enhanced y'", 'o_p'), ('recovered, right key', 'o_r'),
            ('recovered, wrong key', 'o_r_wrongkey'), ('recovered, no key', 'o_r_nokey'))
    if find_metric(metrics, 'psnr_o_r_wrongkey') is None:
        return ''
    lines = ['### Key-locked recovery (portraits vs original)', '', '| view | PSNR | SSIM |', '| --- | ---: | ---: |']
    for label, pair in rows:
        psnr, ssim = find_metric(metrics, f'psnr_{pair}'), find_metric(metrics, f'ssim_{pair}')
        lines.append(f"| {label} | {format_value(psnr, _column('', '', 1, 2))} | "
                     f"{format_value(ssim, _column('', '', 1, 4))} |")
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------------- Table 3 (r sweep)
def build_ablation_table(results: Iterable[dict]) -> dict:
    """Table 3: one row per desensitizer strength r.

    Args:
        results (iterable of dict): Contents of ``tables.json`` files (or
            tables dicts), one per trained model of the sweep (e.g. blur r in
            {2, 4, 8, 12}, pixelate r in {4, 8, 12, 16}).

    Returns:
        dict: ``{'title', 'columns', 'rows'}``; each row has ``method``,
        ``desensitizer``, ``kind``, ``r``, ``source`` and ``values`` (the
        main-table columns), sorted by kind, r and method.
    """
    rows, columns = [], None
    for result in results:
        tables = result.get('tables', result)
        if 'main' not in tables:
            raise ValueError('build_ablation_table got a dict without mmrecanon tables')
        if columns is None:
            columns = tables['main']['columns']
        for row in tables['main']['rows']:
            strength = _desensitizer_strength(row)
            rows.append(dict(copy.deepcopy(row), kind=_desensitizer_kind(row),
                             r=None if math.isinf(strength) else strength,
                             source=result.get('work_dir') or result.get('checkpoint')))
    if columns is None:
        raise ValueError('build_ablation_table needs at least one result')
    rows.sort(key=_row_sort_key)
    return {'title': 'Table 3: effect of the desensitizer strength r', 'columns': columns,
            'rows': rows, 'legend': LEGEND}


def _format_r(row: dict) -> str:
    r = row.get('r')
    if r is None:
        return MISSING
    return str(int(r)) if float(r).is_integer() else str(r)


def render_ablation_markdown(table: dict) -> str:
    """Markdown of :func:`build_ablation_table`'s output."""
    lead = (('Desensitizer', lambda r: r['kind']), ('r', _format_r),
            ('Method', lambda r: r['method']))
    lines = [f"### {table['title']}", '']
    lines += _render_table(table, lead)
    lines += ['', table.get('legend', LEGEND)]
    return '\n'.join(lines) + '\n'
