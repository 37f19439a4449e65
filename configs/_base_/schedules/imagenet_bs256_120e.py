# The paper's simple ImageNet schedule (Sec. 4.1): SGD, momentum 0.9, lr 0.1 for
# a global batch of 256, cosine annealing over 120 epochs, weight decay 1e-4 on
# conv and fc kernels only: BN weights/biases (including the identity branch's
# BN) and every bias (including a fused conv's) get none.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
# Cosine per iteration (not per epoch), to 0 at the end.
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=120,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=120,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.1 is for 8 GPUs x 32 = 256 images per step. On other set-ups
# `tools/train.py CONFIG --auto-scale-lr` scales it linearly with the real
# global batch (GPUs x train_dataloader.batch_size) / 256.
auto_scale_lr = dict(enable=False, base_batch_size=256)
