#!/usr/bin/env bash
# Multi-GPU / multi-node training with torchrun (MMEngine's pytorch launcher).
#   bash tools/dist_train.sh CONFIG GPUS [train.py options]
# Multi-node: NNODES=2 NODE_RANK=0 MASTER_ADDR=host0 bash tools/dist_train.sh ...
# on each node. Without GPUs the processes run on gloo (see repvgg_seg/engine/setup.py).
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    tools/train.py "$CONFIG" --launcher pytorch "${@:3}"
