# The ImageNet -> Cityscapes path in miniature: the toy PSPNet demo with its
# backbone initialised from the toy classifier's checkpoint, exactly as a Table 8
# config takes a classifier trained with configs/imagenet/. First train it:
#   python tools/make_toy_imagefolder.py data/toy_imagenet
#   python tools/train.py configs/imagenet/repvgg-toy_imagefolder.py
# then
#   python tools/train.py configs/demo/pspnet_repvgg_toy_cityscapes_from_toy_imagenet.py
_base_ = ['./pspnet_repvgg_toy_cityscapes.py']
cls_checkpoint = 'work_dirs/repvgg-toy_imagefolder/epoch_6.pth'
# prefix='backbone.' takes the classifier's backbone and leaves its fc head.
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=cls_checkpoint, prefix='backbone.')))
