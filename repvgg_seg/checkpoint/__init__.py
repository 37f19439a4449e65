"""Safe checkpoint reading and RepVGG key-layout conversion."""
from .layouts import (CheckpointLayoutError, ConvertedCheckpoint,
                      extract_state_dict, fused_block_keys,
                      to_repvgg_seg_layout)
from .loading import (CheckpointMismatchError, DeployCheckpointError,
                      convert_checkpoint_file, describe_mismatch,
                      refuse_overwrite,
                      load_repvgg_pretrained,
                      load_state_dict_checked)
from .safe_load import (CheckpointFileError, UnsafeCheckpointError, load_checkpoint_file,
                        load_checkpoint_url, mmengine_safe_globals,
                        read_checkpoint, register_safe_checkpoint_loader)

__all__ = [
    'CheckpointFileError', 'CheckpointLayoutError', 'CheckpointMismatchError', 'ConvertedCheckpoint',
    'DeployCheckpointError', 'UnsafeCheckpointError', 'convert_checkpoint_file',
    'describe_mismatch', 'refuse_overwrite',
    'extract_state_dict', 'fused_block_keys', 'load_checkpoint_file',
    'load_checkpoint_url', 'load_repvgg_pretrained', 'load_state_dict_checked',
    'mmengine_safe_globals', 'read_checkpoint', 'register_safe_checkpoint_loader',
    'to_repvgg_seg_layout'
]
