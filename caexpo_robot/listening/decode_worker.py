"""The asr engine's Whisper decodes on one worker thread (pure: no rclpy).

`AsrEngine.process` returns `Decode` requests; `submit` runs `engine.decode` on the worker, `wake()` tells the
owner (the asr node: a guard condition) that results wait, and `drain()` — on the engine's thread — hands them
to `engine.complete`, which returns the Utterances. `busy` counts decodes not handed back yet (the simulator's
lock-step clock waits for them).
"""
from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from caexpo_robot.listening.recognizer import AsrEngine, Decode, Utterance


class DecodeWorker:
    """Runs the engine's Whisper decodes one at a time off the caller's thread."""

    def __init__(self, engine: AsrEngine, wake: Callable[[], None]) -> None:
        self.engine, self.wake = engine, wake
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='whisper')
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        self.busy = 0

    def submit(self, request: Decode) -> None:
        self.busy += 1
        self.pool.submit(self._run, request)

    def _run(self, request: Decode) -> None:
        self.done.put((request, self.engine.decode(request)))   # decode() never raises
        self.wake()

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
