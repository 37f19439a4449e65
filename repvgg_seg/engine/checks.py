"""Pre-run checks: everything that can be found wrong with a run before
anything is built, dumped or written (ImageNet weights, dataset files and
contents, the model config itself, a resume with nothing to resume)."""
import copy
import glob
import os.path as osp
from typing import Any, Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import init_default_scope

from repvgg_seg.datasets.checks import check_dataset_files


def check_pretrained_weights(cfg: Config) -> None:
    """Fail early, with directions, when local ImageNet weights are missing.

    Looks at every ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` in
    ``cfg.model``; URLs (``open-mmlab://``, ``https://``) are left to mmengine.
    """
    def visit(node: Any, key: str) -> None:
        if isinstance(node, dict):
            init = node.get('init_cfg')
            if isinstance(init, dict) and init.get('type') == 'Pretrained':
                path = str(init.get('checkpoint', ''))
                if '://' not in path and not osp.isfile(path):
                    raise FileNotFoundError(
                        f"{key}.init_cfg: ImageNet weights not found at '{path}'. "
                        'Put the authors\' RepVGG-<arch>-train.pth there (timm, '
                        'mmpretrain and repvgg_seg files work too), or point to '
                        f'yours with --cfg-options {key}.init_cfg.checkpoint=FILE, '
                        f'or train from scratch with --cfg-options {key}.init_cfg=None '
                        '(README: "ImageNet weights").')
            for name, value in node.items():
                visit(value, f'{key}.{name}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                visit(value, f'{key}[{i}]')

    visit(cfg.model, 'model')


def check_data(cfg: Config, *dataloaders: str, contents: bool = True) -> None:
    """Check the files of the named dataloaders' datasets and, with
    ``contents``, read every image and label map once (see
    :func:`repvgg_seg.datasets.checks.check_dataset_files`)."""
    for name in dataloaders:
        loader = cfg.get(name)
        if loader:
            check_dataset_files(loader['dataset'], name,
                                cfg.get('default_scope', 'mmseg'), contents)


def build_on_meta(cfg: Config) -> Optional[torch.nn.Module]:
    """The config's model built on the meta device (shapes, no memory, no
    weights), so a bad setting (an unknown arch, a wrong dilation list, a zero
    stride) is reported before the runner dumps the environment and creates
    the work dir.

    Returns:
        nn.Module | None: The model; None when it cannot be built on the meta
        device at all (some transformer backbones call ``.item()`` in their
        constructor), in which case the runner's build reports errors.

    Raises:
        KeyError, TypeError, ValueError: A bad setting in ``cfg.model``.
    """
    from mmseg.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    try:
        with torch.device('meta'):
            return MODELS.build(copy.deepcopy(cfg.model))
    except (KeyError, TypeError, ValueError):
        raise
    except Exception:  # noqa: BLE001  (the meta device, not the config)
        return None


def check_resume(work_dir: str) -> None:
    """Say clearly when ``--resume`` finds nothing to resume: the run then
    starts from scratch, as mmengine does, but not silently. mmengine resumes
    from the file ``last_checkpoint`` names, nothing else."""
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        return
    saved = sorted(glob.glob(osp.join(work_dir, '*.pth')))
    print_log(f'--resume: nothing to resume in {work_dir} (no last_checkpoint'
              + (f'; to go on from {saved[-1]} pass --cfg-options load_from=... '
                 'instead' if saved else '') + '): training starts from scratch. '
              'If the earlier run wrote somewhere else, pass that folder with '
              '--work-dir.',
              logger='current', level=30)


def check_vis_backends(cfg: Config) -> None:
    """TensorBoard logging needs the ``tensorboard`` package, which is an
    optional extra: say how to get it instead of an ImportError at start."""
    backends = (cfg.get('visualizer') or {}).get('vis_backends') or []
    if any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise ValueError(
                'visualizer.vis_backends has TensorboardVisBackend, but the '
                'tensorboard package is not installed: pip install -e '
                '".[tensorboard]" (or pip install tensorboard)') from None
