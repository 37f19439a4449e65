from .qarepvgg_block import QARepVGGBlock
from .repvgg_block import RepVGGBlock

__all__ = ['QARepVGGBlock', 'RepVGGBlock']
