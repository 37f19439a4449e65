# PSPNet + QARepVGG-B1g2-fast: the Table 8 B1g2-fast recipe unchanged but for
# the quantization-friendly block (RepVGG(block='qarepvgg')), for INT8
# deployment (tools/quantize.py). The plain deployed model has the same shape.
_base_ = './pspnet_repvgg_b1g2_fast.py'
# No public QARepVGG ImageNet release exists in a layout we read: train one with
# configs/imagenet/qarepvgg-b1g2_8xb32_120e_imagenet.py and put it here (its
# backbone.* keys are found by themselves), or start from scratch with
# --cfg-options model.backbone.init_cfg=None.
pretrained = 'checkpoints/QARepVGG-B1g2-imagenet.pth'
model = dict(
    backbone=dict(
        block='qarepvgg',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
