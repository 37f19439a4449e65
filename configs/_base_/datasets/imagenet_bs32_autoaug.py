# The heavy recipe's data: the simple pipeline plus AutoAugment's ImageNet
# policy after crop and flip. Evaluation is unchanged.
_base_ = ['./imagenet_bs32.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='AutoAugment', policies='imagenet'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
