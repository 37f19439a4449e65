# Runtime of the ImageNet classification configs: MMSegmentation's registries
# (where repvgg_seg registers its classifier, transforms and Accuracy metric),
# epoch-based logging and checkpoints, the best top-1 kept.
default_scope = 'mmseg'
custom_imports = dict(imports=['repvgg_seg'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches this to gloo when no GPU is present.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
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
