# Table 8 baseline: PSPNet + ResNet-101 (dilated last two stages).
# Paper: 78.51 mIoU, 6.7 examples/s.
_base_ = './pspnet_r50.py'
model = dict(
    pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
