# The paper's heavy schedule (Sec. 4.1, for B2g4/B3g4/B3): 200 epochs, a
# 5-epoch linear warm-up, then cosine annealing; optimiser, weight-decay rule
# and lr scaling as in the 120-epoch schedule.
_base_ = ['./imagenet_bs256_120e.py']
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    # To the end of the train loop (MMEngine fills `end`, T_max = end - 5).
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=5,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
