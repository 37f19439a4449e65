# Table 8: PSPNet + RepVGG-B1g2, all 3x3 convs of stages 3-4 dilated (2, 4).
# Paper: 78.70 mIoU, 8.0 examples/s (1080Ti, batch 16, 713x713, fp32).
_base_ = [
    '_base_/models/pspnet_repvgg.py', '_base_/datasets/cityscapes_713x713.py',
    '_base_/default_runtime.py', '_base_/schedules/schedule_40epochs.py'
]
# ImageNet weights: the authors' RepVGG-B1g2-train.pth, a timm/mmpretrain file, or
# a classifier trained with configs/imagenet/repvgg-b1g2_8xb32_120e_imagenet.py
# (its backbone.* keys are found by themselves). See README, "ImageNet weights".
pretrained = 'checkpoints/RepVGG-B1g2-train.pth'
model = dict(
    backbone=dict(
        arch='B1g2', init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=2048),
    auxiliary_head=dict(in_channels=512))
