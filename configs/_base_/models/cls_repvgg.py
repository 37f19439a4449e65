# RepVGG classifier as in the paper: the backbone's last stage (stride 32),
# global average pooling and one fully connected layer. Top-level configs set
# the arch; the head's in_channels follows from the backbone (512b).
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        # ImageNet RGB statistics on 0-255 pixels; images are loaded as BGR.
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='RepVGG',
        arch='A0',
        out_indices=(4, ),
        norm_cfg=dict(type='BN', requires_grad=True)),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        loss=dict(type='LabelSmoothCrossEntropyLoss', label_smoothing=0.0)))
