"""The tts node's queue: highest priority first, first come first served within a priority, bounded."""
from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

PRIORITY_NAMES = {'low': 0, 'normal': 1, 'high': 2, 'urgent': 3}


@dataclass(order=True)
class QueuedUtterance:
    sort_key: tuple = field(init=True, repr=False)
    id: str = field(compare=False)
    text: str = field(compare=False)
    language: str = field(compare=False)
    priority: int = field(compare=False)
    tag: dict = field(compare=False, default_factory=dict)
    interrupt: bool = field(compare=False, default=False)
    payload: Any = field(compare=False, default=None)   # filled in later stages (plan, audio)


def cancel_matches(item: QueuedUtterance, utterance_id: str | None, everything: bool,
                   below_priority: int | None) -> bool:
    """Whether a cancel request (by id, everything, or below a priority) covers this utterance."""
    return everything or item.id == utterance_id or (below_priority is not None and item.priority < below_priority)


class SpeechQueue:
    """Thread-safe priority queue; `push` refuses new work when `capacity` is reached."""

    def __init__(self, capacity: int = 32) -> None:
        self.capacity = capacity
        self._heap: list[QueuedUtterance] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def push(self, utterance_id: str, text: str, language: str, priority: int = 1, tag: dict | None = None,
             interrupt: bool = False, payload: Any = None) -> QueuedUtterance | None:
        with self._lock:
            if len(self._heap) >= self.capacity:
                return None
            item = QueuedUtterance((-priority, next(self._seq)), utterance_id, text, language, priority,
                                   dict(tag or {}), interrupt, payload)
            heapq.heappush(self._heap, item)
            return item

    def requeue(self, item: QueuedUtterance) -> None:
        """Put back an item that moved on a stage (keeps its place in line)."""
        with self._lock:
            heapq.heappush(self._heap, item)

    def pop(self) -> QueuedUtterance | None:
        with self._lock:
            return heapq.heappop(self._heap) if self._heap else None

    def peek_priority(self) -> int | None:
        with self._lock:
            return self._heap[0].priority if self._heap else None

    def cancel(self, utterance_id: str | None = None, everything: bool = False,
               below_priority: int | None = None) -> list[QueuedUtterance]:
        """Remove matching items and return them (the caller reports each as cancelled)."""
        def matches(item: QueuedUtterance) -> bool:
            return cancel_matches(item, utterance_id, everything, below_priority)
        with self._lock:
            removed = [item for item in self._heap if matches(item)]
            if removed:
                self._heap = [item for item in self._heap if not matches(item)]
                heapq.heapify(self._heap)
            return sorted(removed)

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap)
