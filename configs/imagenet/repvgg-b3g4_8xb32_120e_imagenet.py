# RepVGG-B3g4 on ImageNet-1k, the paper's simple recipe: 120 epochs, batch 256
# (8 GPUs x 32), SGD lr 0.1 momentum 0.9 cosine, weight decay 1e-4 on kernels
# only, random-resized crop 224 + flip; test: short edge 256, centre crop 224.
# Other global batches scale the lr linearly (auto_scale_lr, base batch 256).
_base_ = [
    '../_base_/models/cls_repvgg.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs256_120e.py', '../_base_/cls_runtime.py'
]
model = dict(backbone=dict(arch='B3g4'))
