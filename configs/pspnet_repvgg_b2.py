# Table 8: PSPNet + RepVGG-B2, all 3x3 convs of stages 3-4 dilated (2, 4).
# Paper: 80.57 mIoU, 4.5 examples/s (1080Ti, batch 16, 713x713, fp32).
_base_ = [
    '_base_/models/pspnet_repvgg.py', '_base_/datasets/cityscapes_713x713.py',
    '_base_/default_runtime.py', '_base_/schedules/schedule_40epochs.py'
]
pretrained = 'checkpoints/RepVGG-B2-train.pth'
model = dict(
    backbone=dict(
        arch='B2', init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=2560),
    auxiliary_head=dict(in_channels=640))
