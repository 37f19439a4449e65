# Table 8 baseline: PSPNet + ResNet-50 (dilated last two stages).
# Paper: 77.17 mIoU, 10.4 examples/s. Same data, schedule and heads as RepVGG.
_base_ = [
    '_base_/models/pspnet_r50-d8.py', '_base_/datasets/cityscapes_713x713.py',
    '_base_/default_runtime.py', '_base_/schedules/schedule_40epochs.py'
]
