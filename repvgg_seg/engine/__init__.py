"""Training/evaluation integration: hooks, pre-run checks and run set-up for
the tools."""
from .distributed import setup_cpu_distributed
from .hooks import (CheckpointFitHook, PortableCheckpointHook, RepVGGDeployHook,
                    RNGStateHook)
from .setup import default_work_dir, setup_test_cfg, setup_train_cfg

__all__ = [
    'CheckpointFitHook', 'PortableCheckpointHook', 'RNGStateHook',
    'RepVGGDeployHook', 'default_work_dir', 'setup_cpu_distributed',
    'setup_test_cfg', 'setup_train_cfg'
]
