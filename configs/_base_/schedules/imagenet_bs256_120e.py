# The paper's simple ImageNet schedule (Sec. 4.1): SGD, momentum 0.9, lr 0.1 for
# a global batch of 256, cosine annealing over 120 epochs, weight decay 1e-4 on
# conv and fc kernels only: BN weights/biases (including the identity branch's
# BN) and every bias (including a fused conv's) get none.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
# Cosine per iteration (not per epoch), to 0 at the end of the train loop
# (no `end`/`T_max`: MMEngine takes them from max_epochs, shortened runs too).
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.1 is for 8 GPUs x 32 = 256 images per step. On other set-ups the runner
# scales it linearly with the real global batch: lr 0.1 x (GPUs x
# train_dataloader.batch_size) / 256, e.g. 0.0125 on one GPU with 32 images.
# Unchanged on the paper's 8 x 32; --cfg-options auto_scale_lr.enable=False
# keeps lr 0.1 whatever the batch.
auto_scale_lr = dict(enable=True, base_batch_size=256)
