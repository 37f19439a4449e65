from .checkpoint_fit_hook import CheckpointFitHook
from .deploy_hook import RepVGGDeployHook
from .portable_checkpoint_hook import PortableCheckpointHook
from .rng_state_hook import RNGStateHook

__all__ = ['CheckpointFitHook', 'PortableCheckpointHook', 'RNGStateHook',
           'RepVGGDeployHook']
