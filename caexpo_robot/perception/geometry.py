"""Boxes in normalised image coordinates: (x, y, w, h), x and y the top-left corner.

The one home of box geometry: the tracker associates detections with it and the simulator scores
tracked faces against its ground truth with the same `iou`.
"""
from __future__ import annotations

import math

Box = tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0.0 when they do not overlap (or are empty)."""
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def centre_distance(a: Box, b: Box) -> float:
    """Centre distance in units of the larger box's width (faces are roughly square)."""
    dx = (a[0] + a[2] / 2) - (b[0] + b[2] / 2)
    dy = (a[1] + a[3] / 2) - (b[1] + b[3] / 2)
    return math.hypot(dx, dy) / max(a[2], b[2])
