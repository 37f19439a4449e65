"""Config preparation behind ``tools/train.py`` and ``tools/test.py``.

The tools only parse arguments; everything that decides how a run is set up
lives here, where tests reach it.
"""
import copy
import os
import os.path as osp
from typing import Any, Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from repvgg_seg.datasets.checks import check_dataset_files

DEPLOY_HOOK = 'RepVGGDeployHook'


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config name>``, as MMSegmentation does."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def _replace_syncbn(node: Any) -> int:
    """Turn every ``type='SyncBN'`` in a config tree into ``'BN'``."""
    replaced = 0
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            replaced += 1
        for value in node.values():
            replaced += _replace_syncbn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            replaced += _replace_syncbn(value)
    return replaced


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Make a ``--launcher pytorch/slurm`` run work on machines without a GPU.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
    wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on a CPU build of
    torch. So on CPU the process group is initialised here with gloo (the
    runner then skips its own ``init_dist``), DDP gets ``device_ids=None``, and
    SyncBN, which needs GPUs, becomes per-process BN.

    Returns:
        bool: Whether the CPU set-up was applied.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    # What mmengine's Runner.wrap_model would use, but without device ids;
    # a wrapper config of the user's own keeps its other settings.
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    replaced = _replace_syncbn(cfg.model)
    if not dist.is_initialized():
        if launcher == 'slurm':
            _export_slurm_env()
        dist.init_process_group(backend='gloo')
    print_log(f'No GPU: distributed run on gloo with {dist.get_world_size()} '
              f'processes' + (f'; {replaced} SyncBN layers use per-process BN'
                              if replaced else ''), logger='current')
    return True


def _export_slurm_env() -> None:
    """Translate Slurm's variables into the ones torch's env:// init reads."""
    import subprocess
    nodes = os.environ['SLURM_NODELIST']
    os.environ.setdefault('MASTER_ADDR', subprocess.getoutput(
        f'scontrol show hostname {nodes} | head -n1'))
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ['SLURM_LOCALID']


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


def check_data(cfg: Config, *dataloaders: str) -> None:
    """Check the files of the named dataloaders' datasets (see
    :func:`repvgg_seg.datasets.checks.check_dataset_files`)."""
    for name in dataloaders:
        loader = cfg.get(name)
        if loader:
            check_dataset_files(loader['dataset'], name,
                              cfg.get('default_scope', 'mmseg'))


def setup_train_cfg(cfg: Config,
                    config_path: str,
                    work_dir: Optional[str] = None,
                    resume: bool = False,
                    amp: bool = False,
                    auto_scale_lr: bool = False,
                    launcher: str = 'none') -> Config:
    """Apply ``tools/train.py``'s options to a loaded config, in place.

    Args:
        cfg (Config): The loaded config (``--cfg-options`` already merged).
        config_path (str): Path of the config, for the default work dir.
        work_dir (str, optional): Overrides ``cfg.work_dir``.
        resume (bool): Resume from the latest checkpoint in the work dir.
        amp (bool): Automatic mixed precision (``AmpOptimWrapper``).
        auto_scale_lr (bool): Scale the lr linearly with the real batch size.
        launcher (str): 'none', 'pytorch', 'slurm' or 'mpi'.

    Returns:
        Config: ``cfg``.

    Raises:
        FileNotFoundError: Local ImageNet weights or dataset files are missing
            (checked before anything is built).
    """
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config_path)
    if resume:
        cfg.resume = True
    if amp:
        if not torch.cuda.is_available():
            raise ValueError('--amp needs a GPU: MMEngine\'s AmpOptimWrapper is '
                             'built on torch.cuda.amp')
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print_log('AMP is already enabled in the config.', logger='current')
        else:
            if cfg.optim_wrapper.get('type', 'OptimWrapper') != 'OptimWrapper':
                raise ValueError(
                    '--amp works with OptimWrapper configs, got '
                    f'{cfg.optim_wrapper.type}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs auto_scale_lr.base_batch_size '
                             'in the config')
        cfg.auto_scale_lr.enable = True
    check_pretrained_weights(cfg)
    check_data(cfg, 'train_dataloader', 'val_dataloader')
    setup_cpu_distributed(cfg, launcher)
    return cfg


def _deploy_hook(cfg: Config) -> Optional[ConfigDict]:
    return next((h for h in cfg.get('custom_hooks', [])
                 if h.get('type') == DEPLOY_HOOK), None)


def setup_test_cfg(cfg: Config,
                   config_path: str,
                   checkpoint: str,
                   work_dir: Optional[str] = None,
                   out: Optional[str] = None,
                   show: bool = False,
                   show_dir: Optional[str] = None,
                   wait_time: float = 2,
                   tta: bool = False,
                   deploy: bool = False,
                   metric: str = 'iou',
                   launcher: str = 'none') -> Config:
    """Apply ``tools/test.py``'s options to a loaded config, in place.

    Args:
        cfg (Config): The loaded config.
        config_path (str): Path of the config, for the default work dir.
        checkpoint (str): Checkpoint to test (read through the safe loader).
        work_dir (str, optional): Overrides ``cfg.work_dir``.
        out (str, optional): Folder to write predicted label maps to.
        show (bool): Display predictions in a window.
        show_dir (str, optional): Write colour overlays of the predictions
            there (relative to the visualizer's work dir).
        wait_time (float): Seconds between shown images.
        tta (bool): Multi-scale + flip test-time augmentation.
        deploy (bool): Re-parameterize the whole segmentor (backbone and
            heads) after loading and test the plain model. Without it a
            RepVGG config's deploy hook is told not to convert, so the
            checkpoint is tested as trained.
        metric (str): 'iou' (MMSegmentation's IoUMetric), 'cityscapes'
            (the official cityscapesscripts evaluation) or 'both'.
        launcher (str): Distributed launcher.

    Returns:
        Config: ``cfg``.
    """
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config_path)
    cfg.load_from = checkpoint
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint file not found: {checkpoint}')

    hook = _deploy_hook(cfg)
    if deploy and hook is None:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type=DEPLOY_HOOK, deploy_on_val=False, deploy_on_test=True)]
    elif hook is not None:
        hook['deploy_on_test'] = deploy

    if metric not in ('iou', 'cityscapes', 'both'):
        raise ValueError(f"metric must be 'iou', 'cityscapes' or 'both', got {metric!r}")
    if metric != 'iou':
        if 'cityscapes_evaluator' not in cfg:
            raise ValueError('--metric cityscapes needs cityscapes_evaluator in the '
                             'config (see configs/_base_/datasets/cityscapes_713x713.py)')
        official = copy.deepcopy(cfg.cityscapes_evaluator)
        cfg.test_evaluator = ([cfg.test_evaluator, official]
                              if metric == 'both' else official)

    if show or show_dir:
        hooks = cfg.default_hooks
        if 'visualization' not in hooks:
            raise ValueError('--show/--show-dir need default_hooks.visualization '
                             '(SegVisualizationHook) in the config')
        hooks.visualization.draw = True
        hooks.visualization.show = show
        hooks.visualization.wait_time = wait_time
        if show_dir:
            cfg.visualizer.save_dir = show_dir
            hooks.visualization.interval = 1
    if out:
        evaluators = (cfg.test_evaluator if isinstance(cfg.test_evaluator, list)
                      else [cfg.test_evaluator])
        iou = [e for e in evaluators if e.get('type') == 'IoUMetric']
        if not iou:
            raise ValueError('--out writes segmentation label maps and needs an '
                             'IoUMetric test_evaluator')
        for evaluator in iou:
            evaluator['output_dir'] = out
            evaluator['keep_results'] = True
    if tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ValueError('--tta needs tta_model and tta_pipeline in the config')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    check_data(cfg, 'test_dataloader')
    setup_cpu_distributed(cfg, launcher)
    return cfg
