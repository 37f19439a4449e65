"""Process start-up for distributed runs on machines without a GPU (gloo,
torchrun or Slurm)."""
import os
from typing import Any

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log


def _replace_syncbn(node: Any) -> int:
    """Turn every ``type='SyncBN'`` in a config tree into ``'BN'``."""
    replaced = 0
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            replaced += 1
        for value in node.values():
            replaced += _replace_syncbn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            replaced += _replace_syncbn(value)
    return replaced


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Make a ``--launcher pytorch/slurm`` run work on machines without a GPU.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
    wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on a CPU build of
    torch. So on CPU the process group is initialised here with gloo (the
    runner then skips its own ``init_dist``), DDP gets ``device_ids=None``, and
    SyncBN, which needs GPUs, becomes per-process BN.

    Returns:
        bool: Whether the CPU set-up was applied.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    # What mmengine's Runner.wrap_model would use, but without device ids;
    # a wrapper config of the user's own keeps its other settings.
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    replaced = _replace_syncbn(cfg.model)
    if not dist.is_initialized():
        if launcher == 'slurm':
            _export_slurm_env()
        dist.init_process_group(backend='gloo')
    print_log(f'No GPU: distributed run on gloo with {dist.get_world_size()} '
              f'processes' + (f'; {replaced} SyncBN layers use per-process BN'
                              if replaced else ''), logger='current')
    return True


def _export_slurm_env() -> None:
    """Translate Slurm's variables into the ones torch's env:// init reads."""
    import subprocess
    nodes = os.environ['SLURM_NODELIST']
    os.environ.setdefault('MASTER_ADDR', subprocess.getoutput(
        f'scontrol show hostname {nodes} | head -n1'))
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ['SLURM_LOCALID']
