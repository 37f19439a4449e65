"""Metrics, registered in MMSegmentation's ``METRICS`` registry."""
from .accuracy import Accuracy

__all__ = ['Accuracy']
