# The one-command demo: PSPNet on a small custom RepVGG, trained from scratch on
# the synthetic Cityscapes-layout toy set (tools/make_toy_cityscapes.py) on a CPU.
# It inherits the Table 8 model, data pipeline and runtime and changes only what a
# 2-core machine needs: a small arch, small heads, 160x160 crops, plain BN.
_base_ = [
    '../_base_/models/pspnet_repvgg.py', '../_base_/datasets/cityscapes_713x713.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40epochs.py'
]
data_root = 'data/toy_cityscapes/'
crop_size = (160, 160)
# Plain BN: SyncBN needs GPUs, and this config also runs distributed on gloo.
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(_delete_=True, num_blocks=(1, 2, 3, 4, 1),
                  widths=(16, 24, 48, 64, 96), groups=1),
        norm_cfg=norm_cfg),
    decode_head=dict(in_channels=96, channels=32, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=16, norm_cfg=norm_cfg),
    test_cfg=dict(crop_size=crop_size, stride=(106, 106)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(320, 160), ratio_range=(0.75, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
# The toy images are evaluated at their own 320x160 size.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 600
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-4, begin=0, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=200)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=200, max_keep_ckpts=2, save_best=None))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
