"""Models registered in MMSegmentation's ``MODELS`` registry."""
from . import classifiers  # noqa: F401  (registrations)
from .backbones import ARCH_SETTINGS, RepVGG
from .layers import QARepVGGBlock, RepVGGBlock

__all__ = ['ARCH_SETTINGS', 'QARepVGGBlock', 'RepVGG', 'RepVGGBlock']
