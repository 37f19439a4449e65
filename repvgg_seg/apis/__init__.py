"""What every inference-side tool shares: configs, a segmentor built for
inference from either checkpoint form, its ``Tensor -> Tensor`` forward, and
the one measure of how far a path's logits are from the reference.

Export, benchmark, inference and quantization import from here, never from
each other's internals.
"""
from .compare import TOLERANCES, ErrorCheck, check_output, relative_max_error
from .config import ConfigFileError, config_name, load_config
from .segmentor import (SegmentorForward, build_segmentor, dataset_meta_of,
                        has_training_form, init_segmentor, is_deployed,
                        load_segmentor_weights, save_segmentor)

__all__ = [
    'ConfigFileError', 'ErrorCheck', 'SegmentorForward', 'TOLERANCES',
    'build_segmentor', 'check_output', 'config_name', 'dataset_meta_of',
    'has_training_form',
    'init_segmentor', 'is_deployed', 'load_config', 'load_segmentor_weights',
    'relative_max_error', 'save_segmentor'
]
