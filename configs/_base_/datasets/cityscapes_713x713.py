# Cityscapes at the paper's 713x713 crops (RepVGG Sec. 4.3, official PSPNet).
# Expects data/cityscapes/{leftImg8bit,gtFine}/{train,val}/<city>/ with
# *_gtFine_labelTrainIds.png made by tools/prepare_cityscapes.py.
dataset_type = 'CityscapesDataset'
data_root = 'data/cityscapes/'
crop_size = (713, 713)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
# Evaluation at full resolution (2048x1024); the model slides 713x713 windows.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
# --tta: multi-scale + flip through mmseg's SegTTAModel.
tta_model = dict(type='SegTTAModel')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True)
             for r in img_ratios],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]
# 2 images per GPU x 8 GPUs = the paper's global batch of 16.
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# mIoU as MMSegmentation computes it. The official Cityscapes evaluation
# (cityscapesscripts, as on the benchmark server; needs *_gtFine_labelIds.png and
# *_gtFine_instanceIds.png) is selected with `tools/test.py ... --metric cityscapes`.
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
cityscapes_evaluator = dict(
    type='CityscapesMetric', output_dir='work_dirs/cityscapes_eval')
