# The one-command demo with the quantization-friendly block (QARepVGG: BN only
# on the 3x3 branch and after the sum); everything else as the RepVGG demo.
# Trained like it, it is the INT8 comparison of tools/quantize.py.
_base_ = './pspnet_repvgg_toy_cityscapes.py'
model = dict(backbone=dict(block='qarepvgg'))
