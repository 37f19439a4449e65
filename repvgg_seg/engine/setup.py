"""Config preparation behind ``tools/train.py`` and ``tools/test.py``.

The tools only parse arguments; everything that decides how a run is set up
lives here, where tests reach it. Every check (:mod:`.checks`) runs here,
before the runner dumps the environment or creates the work dir.
"""
import copy
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from repvgg_seg.export import onnx_model_cfg
from repvgg_seg.checkpoint import read_checkpoint
from .checks import (build_on_meta, check_data, check_pretrained_weights,
                     check_resume, check_vis_backends)
from .hooks.checkpoint_fit_hook import fit_error
from .distributed import setup_cpu_distributed
from .work_dir_lock import check_work_dir_free

DEPLOY_HOOK = 'RepVGGDeployHook'


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config name>``, as MMSegmentation does."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def setup_train_cfg(cfg: Config,
                    config_path: str,
                    work_dir: Optional[str] = None,
                    resume: bool = False,
                    amp: bool = False,
                    auto_scale_lr: bool = False,
                    launcher: str = 'none',
                    data_check: bool = True) -> Config:
    """Apply ``tools/train.py``'s options to a loaded config, in place.

    Args:
        cfg (Config): The loaded config (``--cfg-options`` already merged).
        config_path (str): Path of the config, for the default work dir.
        work_dir (str, optional): Overrides ``cfg.work_dir``.
        resume (bool): Resume from the latest checkpoint in the work dir.
        amp (bool): Automatic mixed precision (``AmpOptimWrapper``).
        auto_scale_lr (bool): Scale the lr linearly with the real batch size.
        launcher (str): 'none', 'pytorch', 'slurm' or 'mpi'.
        data_check (bool): Read every image and label map once first
            (cached; see :mod:`repvgg_seg.datasets.content_check`).

    Returns:
        Config: ``cfg``.

    Raises:
        FileNotFoundError: Local ImageNet weights or dataset files are missing
            (checked before anything is built).
        ValueError: A bad option, model setting or dataset content.
    """
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config_path)
    # A run already training into this work dir: say so before any check.
    check_work_dir_free(cfg.work_dir)
    if resume:
        cfg.resume = True
    if amp:
        if not torch.cuda.is_available():
            raise ValueError('--amp needs a GPU (CUDA; this machine has none): '
                             'MMEngine\'s AmpOptimWrapper is built on torch.cuda.amp')
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
    check_vis_backends(cfg)
    build_on_meta(cfg)
    check_data(cfg, 'train_dataloader', 'val_dataloader', contents=data_check)
    if resume and not cfg.get('load_from'):
        check_resume(cfg.work_dir)
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
                   launcher: str = 'none',
                   strict: bool = True,
                   data_check: bool = True) -> Config:
    """Apply ``tools/test.py``'s options to a loaded config, in place.

    Args:
        cfg (Config): The loaded config.
        config_path (str): Path of the config, for the default work dir.
        checkpoint (str): Checkpoint to test (read through the safe loader),
            or an exported ``.onnx`` file (fp32 or INT8), run by onnxruntime
            inside the same test loop.
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
        strict (bool): Refuse a checkpoint that does not fit the model
            (:class:`~repvgg_seg.engine.hooks.CheckpointFitHook`); False loads
            what fits, as mmengine does.
        data_check (bool): Read every test image and label map once first.

    Returns:
        Config: ``cfg``.
    """
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config_path)
    cfg.load_from = checkpoint
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint file not found: {checkpoint}')

    check_vis_backends(cfg)
    shadow = None  # the model built on the meta device (PyTorch checkpoints only)
    hook = _deploy_hook(cfg)
    if checkpoint.endswith('.onnx'):
        # An exported model: onnxruntime runs the network inside mmseg's own
        # test loop; it is deployed already and has no weights to load.
        if launcher != 'none':
            raise ValueError('an ONNX model is tested in one process; drop '
                             f'--launcher {launcher}')
        cfg.model = onnx_model_cfg(cfg.model, checkpoint)
        cfg.load_from = None
        deploy = False
        if hook is not None:
            hook['deploy_on_test'] = False
    else:
        shadow = build_on_meta(cfg)
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

    if show and os.name == 'posix' and not (os.environ.get('DISPLAY')
                                            or os.environ.get('WAYLAND_DISPLAY')):
        raise ValueError('--show opens a window and needs a display (DISPLAY is '
                         'not set); use --show-dir DIR to write the overlays')
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
    if strict and cfg.load_from:
        if shadow is not None:  # checked now, before anything is dumped
            error = fit_error(shadow, read_checkpoint(checkpoint), checkpoint)
            if error is not None:
                raise error
        else:  # checked by the runner, on the real model, before loading
            cfg.default_hooks = dict(cfg.get('default_hooks') or {},
                                     checkpoint_fit=dict(type='CheckpointFitHook'))
    check_data(cfg, 'test_dataloader', contents=data_check)
    setup_cpu_distributed(cfg, launcher)
    return cfg
