"""The segmentor ``tools/infer.py`` runs: PyTorch, or onnxruntime on an
exported (fp32 or INT8) file."""
import copy
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch import nn

from repvgg_seg.apis import config_name, dataset_meta_of, init_segmentor
from repvgg_seg.export import export_segmentor, onnx_model_cfg

BACKENDS = ('pytorch', 'onnxruntime')


def build_onnx_segmentor(cfg: Config, onnx_file: str,
                         dataset_meta: Optional[dict] = None) -> nn.Module:
    """mmseg's ``EncoderDecoder`` of ``cfg`` with onnxruntime running
    ``onnx_file`` (see :class:`repvgg_seg.export.ONNXEncoderDecoder`);
    ``dataset_meta`` defaults to the config's dataset's."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(onnx_model_cfg(cfg.model, onnx_file))
    model.cfg = copy.deepcopy(cfg)
    model.dataset_meta = dataset_meta or dataset_meta_of(cfg, {})
    return model.eval()


def load_inference_model(cfg: Config, checkpoint: Optional[str],
                         backend: str = 'pytorch', deploy: bool = False,
                         device: str = 'cpu', strict: bool = True,
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
        export_dir (str, optional): With onnxruntime and a ``.pth``, where
            the deployed model is exported to first (free height and width;
            checked at the config's slide crop, else at 713x713).

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
    if export_dir is None:
        raise ValueError('a .pth runs on onnxruntime after an export: pass an '
                         'export folder, or export with tools/export_onnx.py '
                         'and pass the .onnx file')
    model = init_segmentor(cfg, checkpoint, 'cpu', deploy=True, strict=strict)
    crop = (model.test_cfg or {}).get('crop_size')
    shape = (1, 3, *crop) if crop else (1, 3, 713, 713)
    path = osp.join(export_dir, f'{config_name(cfg.filename or "model")}.onnx')
    os.makedirs(export_dir, exist_ok=True)
    result = export_segmentor(model, path, shape, resize_to_input=False,
                              config=cfg.filename or '')
    if not result.check.ok:
        raise RuntimeError(f'the export does not match PyTorch: {result.check}')
    return build_onnx_segmentor(cfg, path, model.dataset_meta)
