# Runtime shared by every config: MMSegmentation's registries, with repvgg_seg
# imported so its RepVGG backbone, fuse hook and safe checkpoint loader exist
# even when a config is run by MMSegmentation's own tools.
default_scope = 'mmseg'
custom_imports = dict(imports=['repvgg_seg'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches this to gloo when no GPU is present.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
