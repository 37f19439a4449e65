# PSPNet on a RepVGG backbone: the ResNet-50-D8 PSPNet of the baselines with only
# the backbone replaced, as the paper does ("we only change the ResNet-50/101
# backbone to RepVGG-B1g2/B2 and keep other settings identical").
# Output stride 8: stages 3 and 4 (0-based; the paper's stages 4 and 5) run at
# stride 1, dilated by 2 and 4. Top-level configs set the arch, its channel widths
# and the ImageNet weights.
_base_ = ['./pspnet_r50-d8.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='RepVGG',
        arch='B1g2',
        strides=(2, 2, 2, 1, 1),
        dilations=(1, 1, 1, 2, 4),
        out_indices=(3, 4),
        norm_cfg=norm_cfg,
        norm_eval=False),
    # PSP head on stage 4, auxiliary FCN head on stage 3 (the paper's stage 4).
    decode_head=dict(in_channels=2048, in_index=1),
    auxiliary_head=dict(in_channels=512, in_index=0))
# Metrics are reported for the plain (deployed) model: see RepVGGDeployHook.
custom_hooks = [dict(type='RepVGGDeployHook')]
