# The paper's schedule (Sec. 4.3): SGD, base lr 0.01, poly power 0.9, weight decay
# 1e-4, global batch 16 for 40 epochs: 2975 images / 16 = 186 iterations per epoch,
# 40 x 186 = 7440 iterations.
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
# No `end`: MMEngine ends the decay with the train loop, so a run shortened
# with --cfg-options train_cfg.max_iters=N still decays to eta_min.
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=7440, val_interval=744)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=744, max_keep_ckpts=3,
        save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # RNG states go into checkpoints, so --resume continues bit for bit.
    rng_state=dict(type='RNGStateHook'),
    # Checkpoints readable by a plain torch.load(weights_only=True).
    portable_checkpoint=dict(type='PortableCheckpointHook'),
    visualization=dict(type='SegVisualizationHook'))
# With --auto-scale-lr the lr follows the actual global batch (linear rule).
auto_scale_lr = dict(enable=False, base_batch_size=16)
