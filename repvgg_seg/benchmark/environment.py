"""Where a measurement was taken: device, software, threads, date.

Speed numbers mean nothing without these, so every report carries them.
"""
import datetime
import os
import platform
from typing import Dict, Optional

import torch


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else platform's."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """GPU name for CUDA devices, CPU model otherwise."""
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return cpu_model()


def environment_info(device: torch.device,
                     date: Optional[str] = None) -> Dict[str, object]:
    """Facts to store beside the numbers.

    Args:
        device (torch.device): The measured device.
        date (str, optional): Override the date (ISO format); default today.

    Returns:
        dict: torch/CUDA/cuDNN versions, device and CPU names, core and
        thread counts, date.
    """
    device = torch.device(device)
    info: Dict[str, object] = {
        'date': date or datetime.date.today().isoformat(),
        'torch': torch.__version__,
        'device': str(device),
        'device_name': device_name(device),
        'cpu_model': cpu_model(),
        'cpu_cores': os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'python': platform.python_version(),
    }
    if device.type == 'cuda':
        info['cuda'] = torch.version.cuda
        info['cudnn'] = torch.backends.cudnn.version()
    return info


def library_versions() -> Dict[str, str]:
    """Versions of the stack, as mmseg's ``collect_env`` reports them (its
    long PyTorch build summary left out), plus mmcv and onnxruntime."""
    from mmseg.utils import collect_env
    env = {k: str(v) for k, v in collect_env().items()
           if k not in ('PyTorch compiling details', 'numpy_random_seed')}
    for name in ('mmcv', 'onnxruntime', 'numpy'):
        try:
            env[name] = __import__(name).__version__
        except ImportError:
            env[name] = 'not installed'
    return env
