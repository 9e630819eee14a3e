#!/usr/bin/env bash
# Distributed training with MMEngine's launcher: bash tools/dist_train.sh CONFIG GPUS [train.py args]
# On CPU pass --cfg-options env_cfg.dist_cfg.backend=gloo (the tests do).
CONFIG=$1
GPUS=$2
PORT=${PORT:-29500}
shift 2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python
PYTHONPATH="$ROOT:$PYTHONPATH" exec "$PY" -m torch.distributed.run --nnodes=1 --node_rank=0 \
  --master_addr=127.0.0.1 --nproc_per_node="$GPUS" --master_port="$PORT" \
  "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
