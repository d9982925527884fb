"""The speaking pipeline's queues: highest priority first, first come first served within a priority, bounded.

Not locked itself: the pipeline holds one lock over both of its queues and the worker's state.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any


@dataclass(order=True)
class QueuedUtterance:
    sort_key: tuple = field(repr=False)   # (-priority, arrival): the heap's order
    id: str = field(compare=False)
    text: str = field(compare=False)
    language: str = field(compare=False)
    priority: int = field(compare=False)
    tag: Any = field(compare=False, default=None)        # echoed in every event about it
    interrupt: bool = field(compare=False, default=False)
    payload: Any = field(compare=False, default=None)    # set by synthesis (the pipeline's Prepared)
    full_text: str | None = field(compare=False, default=None)   # set when `text` is a shortened form


def cancel_matches(item: QueuedUtterance, utterance_id: str | None, everything: bool,
                   below_priority: int | None) -> bool:
    """Whether a cancel request (by id, everything, or below a priority) covers this utterance."""
    return everything or item.id == utterance_id or (below_priority is not None and item.priority < below_priority)


class SpeechQueue:
    """Priority queue; `push` refuses new work when `capacity` is reached."""

    def __init__(self, capacity: int = 32) -> None:
        self.capacity = capacity
        self._heap: list[QueuedUtterance] = []
        self._seq = itertools.count()

    def push(self, utterance_id: str, text: str, language: str, priority: int = 1, tag: Any = None,
             interrupt: bool = False, full_text: str | None = None) -> QueuedUtterance | None:
        if len(self._heap) >= self.capacity:
            return None
        item = QueuedUtterance((-priority, next(self._seq)), utterance_id, text, language, priority, tag, interrupt,
                               full_text=full_text)
        heapq.heappush(self._heap, item)
        return item

    def requeue(self, item: QueuedUtterance) -> None:
        """Put back an item that moved on a stage (keeps its place in line)."""
        heapq.heappush(self._heap, item)

    def pop(self) -> QueuedUtterance | None:
        return heapq.heappop(self._heap) if self._heap else None

    def peek(self) -> QueuedUtterance | None:
        return self._heap[0] if self._heap else None

    def last(self) -> QueuedUtterance | None:
        """The item that would be said last (lowest priority, latest arrival)."""
        return max(self._heap) if self._heap else None

    def remove(self, item: QueuedUtterance) -> None:
        self._heap.remove(item)
        heapq.heapify(self._heap)

    def cancel(self, utterance_id: str | None = None, everything: bool = False,
               below_priority: int | None = None) -> list[QueuedUtterance]:
        """Remove matching items and return them in queue order (the caller reports each as cancelled)."""
        removed = [item for item in self._heap if cancel_matches(item, utterance_id, everything, below_priority)]
        if removed:
            self._heap = [item for item in self._heap if not cancel_matches(item, utterance_id, everything,
                                                                            below_priority)]
            heapq.heapify(self._heap)
        return sorted(removed)

    def __len__(self) -> int:
        return len(self._heap)
