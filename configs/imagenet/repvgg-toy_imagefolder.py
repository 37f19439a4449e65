# A CPU-sized run of the ImageNet pipeline on the synthetic image folder made by
#   python tools/make_toy_imagefolder.py data/toy_imagenet
# (4 classes of coloured shapes, 64x64, 256 train / 64 val images). Same model,
# data flow, optimiser rule and runtime as the ImageNet configs; only a small
# custom RepVGG, 56x56 crops, a few epochs and a batch-32 lr differ.
_base_ = [
    '../_base_/models/cls_repvgg.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs256_120e.py', '../_base_/cls_runtime.py'
]
data_root = 'data/toy_imagenet/'
crop = 56
max_epochs = 6

# The arch of the toy segmentation demo (configs/demo/
# pspnet_repvgg_toy_cityscapes.py), so this run's checkpoint can initialise it:
# the ImageNet -> Cityscapes path in miniature (docs/imagenet.md).
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, num_blocks=(1, 2, 3, 4, 1),
                  widths=(16, 24, 48, 64, 96), groups=1)),
    head=dict(num_classes=4))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=crop, crop_ratio_range=(0.4, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=crop),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# lr 0.1 for this batch of 32 directly (not the ImageNet lr scaled down).
auto_scale_lr = dict(base_batch_size=32)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
default_hooks = dict(
    logger=dict(interval=4),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
# Top-5 of 4 classes is always 100%.
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
