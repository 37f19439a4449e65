from .repvgg_block import RepVGGBlock

__all__ = ['RepVGGBlock']
