# RepVGG-B3g4 on ImageNet-1k, the paper's heavy recipe: see
# repvgg-b3_8xb32_200e-heavy_imagenet.py (200 epochs, 5-epoch warm-up, cosine,
# label smoothing 0.1, mixup alpha 0.2, AutoAugment).
_base_ = ['./repvgg-b3_8xb32_200e-heavy_imagenet.py']
model = dict(backbone=dict(arch='B3g4'))
