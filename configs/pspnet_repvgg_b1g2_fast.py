# Table 8: PSPNet + RepVGG-B1g2-fast: dilation only in the last 5 layers (the last
# 4 of stage 3 by 2, stage 4 by 4). Paper: 78.88 mIoU, 10.9 examples/s.
_base_ = './pspnet_repvgg_b1g2.py'
model = dict(backbone=dict(dilations=(1, 1, 1, (1, ) * 12 + (2, ) * 4, 4)))
