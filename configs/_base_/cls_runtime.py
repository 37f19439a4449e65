# Runtime of the ImageNet classification configs: the segmentation runtime
# (MMSegmentation's registries, where repvgg_seg registers its classifier,
# transforms and Accuracy metric) with a plain visualizer, epoch-based logging
# and checkpoints, the best top-1 kept.
_base_ = ['./default_runtime.py']
visualizer = dict(type='Visualizer')
log_processor = dict(by_epoch=True)
randomness = dict(seed=None, deterministic=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=3,
        save_best='accuracy/top1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # RNG states go into checkpoints, so --resume continues bit for bit.
    rng_state=dict(type='RNGStateHook'),
    # Checkpoints readable by a plain torch.load(weights_only=True).
    portable_checkpoint=dict(type='PortableCheckpointHook'))
# Validation accuracy is that of the re-parameterized plain model (a deployed
# copy; training continues on the multi-branch one).
custom_hooks = [dict(type='RepVGGDeployHook')]
