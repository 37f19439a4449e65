"""Models registered in MMSegmentation's ``MODELS`` registry."""
from .backbones import ARCH_SETTINGS, RepVGG
from .layers import RepVGGBlock

__all__ = ['ARCH_SETTINGS', 'RepVGG', 'RepVGGBlock']
