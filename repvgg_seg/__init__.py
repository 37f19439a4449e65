"""repvgg_seg: RepVGG backbones for MMSegmentation, with exact deployment.

Importing the package registers its models, hooks and datasets in
MMSegmentation's registries and routes mmengine's checkpoint loading through
the safe loader (see :mod:`repvgg_seg.checkpoint.safe_load`).
"""
from . import datasets, evaluation, export  # noqa: F401  (registrations)
from .checkpoint import register_safe_checkpoint_loader
from .deploy import switch_to_deploy
from .engine import RepVGGDeployHook
from .models import RepVGG, RepVGGBlock
from .version import __version__

register_safe_checkpoint_loader()

__all__ = ['RepVGG', 'RepVGGBlock', 'RepVGGDeployHook', 'switch_to_deploy',
           '__version__']
