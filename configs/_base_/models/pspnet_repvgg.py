# PSPNet on a RepVGG backbone at output stride 8 (paper Sec. 4.3): stages 3 and 4
# (0-based; the paper's stages 4 and 5) run at stride 1, dilated by 2 and 4.
# The top-level configs set the arch, its channel widths and the ImageNet weights.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(713, 713))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='RepVGG',
        arch='B1g2',
        strides=(2, 2, 2, 1, 1),
        dilations=(1, 1, 1, 2, 4),
        out_indices=(3, 4),
        norm_cfg=norm_cfg,
        norm_eval=False),
    decode_head=dict(
        type='PSPHead',
        in_channels=2048,
        in_index=1,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    # Auxiliary FCN head on stage 3 (the paper's stage 4), loss weight 0.4.
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=512,
        in_index=0,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    # Full-resolution evaluation with sliding 713x713 windows (2/3 overlap step).
    test_cfg=dict(mode='slide', crop_size=(713, 713), stride=(476, 476)))
# Metrics are reported for the plain (deployed) model: see RepVGGDeployHook.
custom_hooks = [dict(type='RepVGGDeployHook')]
