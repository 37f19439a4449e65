# QARepVGG-B1g2 on ImageNet-1k: the RepVGG-B1g2 recipe with the
# quantization-friendly block (BN only on the 3x3 branch and after the sum).
# Its checkpoint is the ImageNet start of configs/pspnet_qarepvgg_b1g2_fast.py.
_base_ = './repvgg-b1g2_8xb32_120e_imagenet.py'
model = dict(backbone=dict(block='qarepvgg'))
