"""Speed measurement: timing, and the training-form vs deployed comparisons."""
from .timing import Timing, synchronize, time_forward

__all__ = ['Timing', 'synchronize', 'time_forward']
