"""The segmentor ``tools/infer.py`` runs: PyTorch, or onnxruntime on an
exported (fp32 or INT8) file."""
import copy
import os
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.registry import init_default_scope
# The helper inference_model itself uses to run the test pipeline (mmseg
# 1.2.2, the pinned last release; private, hence this note).
from mmseg.apis.utils import _preprare_data
from mmseg.registry import MODELS
from torch import nn

from repvgg_seg.apis import config_name, dataset_meta_of, init_segmentor
from repvgg_seg.export import export_segmentor, onnx_model_cfg

BACKENDS = ('pytorch', 'onnxruntime')


def build_onnx_segmentor(cfg: Config, onnx_file: str,
                         threads: Optional[int] = None) -> nn.Module:
    """mmseg's ``EncoderDecoder`` of ``cfg`` with onnxruntime running
    ``onnx_file`` (see :class:`repvgg_seg.export.ONNXEncoderDecoder`)."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = onnx_model_cfg(cfg.model, onnx_file, threads)
    model = MODELS.build(model_cfg)
    model.cfg = copy.deepcopy(cfg)
    model.dataset_meta = dataset_meta_of(cfg, {})
    return model.eval()


def network_input_size(model: nn.Module, image) -> Tuple[int, int]:
    """The ``(H, W)`` the network sees for ``image`` after the test pipeline
    and pre-processor: the whole padded image, or the crop in slide mode."""
    data, _ = _preprare_data(image, model)
    inputs = model.data_preprocessor(data, False)['inputs']
    h, w = inputs.shape[-2:]
    test_cfg = model.test_cfg or {}
    if test_cfg.get('mode') == 'slide':
        crop_h, crop_w = test_cfg['crop_size']
        h, w = min(h, crop_h), min(w, crop_w)
    return int(h), int(w)


def load_inference_model(cfg: Config, checkpoint: Optional[str],
                         backend: str = 'pytorch', deploy: bool = False,
                         device: str = 'cpu', strict: bool = True,
                         example_image=None,
                         export_dir: Optional[str] = None) -> nn.Module:
    """The model to segment with.

    Args:
        cfg (Config): Segmentation config.
        checkpoint (str, optional): ``.pth`` (either form) or, with the
            onnxruntime backend, an exported ``.onnx``.
        backend (str): ``'pytorch'`` or ``'onnxruntime'``.
        deploy (bool): Re-parameterize the PyTorch model once.
        device (str): PyTorch device.
        strict (bool): Refuse checkpoints that do not fit (see
            :func:`repvgg_seg.apis.build_segmentor`).
        example_image (ndarray, optional): With onnxruntime and a ``.pth``,
            the deployed model is exported at the size this image reaches
            the network.
        export_dir (str, optional): Where that export is written.

    Returns:
        nn.Module: A segmentor with ``cfg`` and ``dataset_meta`` set.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    is_onnx = checkpoint is not None and checkpoint.endswith('.onnx')
    if backend == 'pytorch':
        if is_onnx:
            raise ValueError(f'{checkpoint} is an ONNX file: run it with '
                             '--backend onnxruntime')
        return init_segmentor(cfg, checkpoint, device, deploy=deploy, strict=strict)
    if is_onnx:
        return build_onnx_segmentor(cfg, checkpoint)
    if example_image is None or export_dir is None:
        raise ValueError('nothing readable to size the ONNX export by; export '
                         'with tools/export_onnx.py and pass the .onnx file')
    model = init_segmentor(cfg, checkpoint, 'cpu', deploy=True, strict=strict)
    h, w = network_input_size(model, example_image)
    path = osp.join(export_dir, f'{config_name(cfg.filename or "model")}_{h}x{w}.onnx')
    os.makedirs(export_dir, exist_ok=True)
    result = export_segmentor(model, path, (1, 3, h, w), resize_to_input=False,
                              config=cfg.filename or '')
    if not result.check.ok:
        raise RuntimeError(f'the export at {h}x{w} does not match PyTorch: '
                           f'{result.check}')
    return build_onnx_segmentor(cfg, path)
