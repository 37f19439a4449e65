# ImageNet-1k, the paper's simple augmentation: random-resized crop to 224 and
# horizontal flip; evaluation resizes the short edge to 256 and centre-crops
# 224. 32 images per GPU x 8 GPUs = the paper's batch of 256.
#
# data/imagenet/train/<wnid>/*.JPEG and data/imagenet/val/<wnid>/*.JPEG; the
# label of a class is the index of its folder name in sorted order (the usual
# ImageNet class indices). For a flat val/ folder give the label file instead:
#   --cfg-options val_dataloader.dataset.ann_file=meta/val.txt \
#                 test_dataloader.dataset.ann_file=meta/val.txt
# with lines "ILSVRC2012_val_00000001.JPEG 65" (docs/imagenet.md).
dataset_type = 'ImageNetDataset'
data_root = 'data/imagenet/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='val',
        ann_file='',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
