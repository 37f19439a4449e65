from .deploy_hook import RepVGGDeployHook
from .rng_state_hook import RNGStateHook

__all__ = ['RNGStateHook', 'RepVGGDeployHook']
