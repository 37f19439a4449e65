# RepVGG-B3 on ImageNet-1k, the paper's heavy recipe (Sec. 4.1): 200 epochs with
# a 5-epoch linear warm-up and cosine annealing, label smoothing 0.1, mixup and
# AutoAugment, batch 256 (8 GPUs x 32), SGD lr 0.1 momentum 0.9, weight decay
# 1e-4 on kernels only. The paper says "mixup" without a value; alpha 0.2 is
# the common choice (Bag of Tricks, He et al. 2019). Other global batches scale
# the lr linearly (auto_scale_lr, base batch 256).
_base_ = [
    '../_base_/models/cls_repvgg.py',
    '../_base_/datasets/imagenet_bs32_autoaug.py',
    '../_base_/schedules/imagenet_bs256_200e_warmup.py',
    '../_base_/cls_runtime.py'
]
model = dict(
    data_preprocessor=dict(mixup=dict(alpha=0.2)),
    backbone=dict(arch='B3'),
    head=dict(loss=dict(label_smoothing=0.1)))
