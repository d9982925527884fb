"""The asr engine's Whisper decodes on one worker thread (pure: no rclpy).

`AsrEngine.process` returns `Decode` requests; `submit` runs `engine.decode` on the worker, `wake()` tells the
owner (the asr node: a guard condition) that results wait, and `drain()` — on the engine's thread — hands them
to `engine.complete`, which returns the Utterances. `busy` counts decodes not handed back yet (the simulator's
lock-step clock waits for them).

When a decode leaves nothing queued behind it, the worker gives the C heap's free pages back to the system
(`release_free_memory`, glibc malloc_trim): a Whisper decode's ~80 MB of freed working memory otherwise stays
in the asr process until the next decode. Never between queued decodes: the trim (a few ms) would delay them.
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from caexpo_robot.listening.recognizer import AsrEngine, Decode, Utterance
from caexpo_robot.memory import release_free_memory


class DecodeWorker:
    """Runs the engine's Whisper decodes one at a time off the caller's thread."""

    def __init__(self, engine: AsrEngine, wake: Callable[[], None],
                 release: Callable[[], bool] = release_free_memory) -> None:
        """`release`: gives freed heap memory back (called on the worker thread when it goes idle)."""
        self.engine, self.wake, self.release = engine, wake, release
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='whisper')
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        self.busy = 0
        self._lock = threading.Lock()
        self._queued = 0   # submitted, not decoded yet (busy also counts decoded, not drained)
        self.trims = 0
        self.trim_s_max = 0.0
        self._trim()   # what the model's load and warm-up decode freed (the engine is built before the worker)

    def submit(self, request: Decode) -> None:
        self.busy += 1
        with self._lock:
            self._queued += 1
        self.pool.submit(self._run, request)

    def _run(self, request: Decode) -> None:
        result = self.engine.decode(request)   # decode() never raises
        with self._lock:
            self._queued -= 1
            idle = self._queued == 0
        self.done.put((request, result))
        self.wake()   # the result first: the trim must not delay the answer
        if idle:
            self._trim()

    def _trim(self) -> None:
        started = time.perf_counter()
        self.release()
        self.trim_s_max = max(self.trim_s_max, time.perf_counter() - started)
        self.trims += 1

    def drain(self) -> list[Utterance]:
        """The Utterances of the decodes finished so far (call on the engine's thread)."""
        results: list[Utterance] = []
        while not self.done.empty():
            request, result = self.done.get()
            self.busy -= 1
            results += self.engine.complete(request, result)
        return results

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
