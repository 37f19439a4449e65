"""Training/evaluation integration: the deploy hook and run set-up for the tools."""
from .hooks import PortableCheckpointHook, RepVGGDeployHook, RNGStateHook
from .setup import (default_work_dir, setup_cpu_distributed, setup_test_cfg,
                    setup_train_cfg)

__all__ = ['PortableCheckpointHook', 'RNGStateHook', 'RepVGGDeployHook', 'default_work_dir', 'setup_cpu_distributed',
           'setup_test_cfg', 'setup_train_cfg']
