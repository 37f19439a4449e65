"""Reading configs the way every tool does: one place, one error for a bad path."""
import os
import os.path as osp
from typing import Optional, Union

from mmengine.config import Config

PathLike = Union[str, os.PathLike]


class ConfigFileError(FileNotFoundError):
    """The config file does not exist (the message names it)."""


def load_config(path: PathLike, cfg_options: Optional[dict] = None) -> Config:
    """Read a config and apply ``--cfg-options`` style overrides.

    Args:
        path (str | PathLike): Config file.
        cfg_options (dict, optional): ``key.sub=value`` overrides.

    Returns:
        Config: The merged config.

    Raises:
        ConfigFileError: ``path`` is not a file.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        hint = ''
        if not path.endswith('.py'):
            hint = ' (configs are .py files, e.g. configs/pspnet_repvgg_b1g2_fast.py)'
        raise ConfigFileError(f'config file not found: {path}{hint}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def config_name(path: PathLike) -> str:
    """The name a config goes by in tables: its file name without ``.py``."""
    return osp.splitext(osp.basename(os.fspath(path)))[0]
