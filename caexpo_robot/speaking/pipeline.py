"""The speaking pipeline: requests in, one utterance at a time out, highest priority first. Pure: no rclpy.

Three stages, each an utterance is in exactly one of:
- queued: waiting for synthesis (`waiting`, priority order, bounded);
- in synthesis: on the synthesis worker (tens of milliseconds of espeak-ng), or `ready`: synthesized,
  waiting for its turn (priority order again, so a late urgent request still goes first);
- playing: `current`, until the player says it has finished.
A cancel (by id, everything, or below a priority) reaches every stage; an utterance cancelled while it
is being synthesized is reported when its synthesis ends, so nothing is reported twice or lost.

Time is passed in: `say`, `cancel` and `advance(now)` return the messages to publish (`SpeechEvent`,
`ScreenText`, and a `Playback` — the audio an utterance plays, at 16 kHz, the echo canceller's
reference — right before each `utterance_started`) stamped with `now`, and a `ClockPlayer` lets an
utterance last exactly its audio duration on that clock (sim time in the simulator, a test's counter
in unit tests). `busy` counts work not yet settled, which the simulator waits for before moving its clock.

Synthesis runs on a daemon thread (`synthesis_thread=True`, what the node uses) or, for deterministic
tests, whenever the caller calls `synthesize_next()`.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from caexpo_robot.listening.audio import resample_int16
from caexpo_robot.messages import CancelSpeech, ScreenText, SpeakRequest, SpeechEvent
from caexpo_robot.speaking.players import PlayerError
from caexpo_robot.speaking.shorten import shorten
from caexpo_robot.speaking.speech_queue import QueuedUtterance, SpeechQueue, cancel_matches
from caexpo_robot.speaking.synthesizer import Audio, Synthesizer, write_wav
from caexpo_robot.speaking.voices import SpeechPlan, VoiceTable


@dataclass(frozen=True)
class Playback:
    """What the speaker plays from time `t` (the clock passed to `advance`) for utterance `id`: the
    reference an echo canceller subtracts from the microphone. 16 kHz mono int16, whatever the
    synthesizer's rate. An utterance cut short is reported by its `utterance_cancelled` event's t."""
    id: str
    t: float
    samples_16k: np.ndarray


Output = SpeechEvent | ScreenText | Playback


class Player(Protocol):
    def start(self, samples: np.ndarray, sample_rate: int, now: float) -> None: ...

    def finished(self, now: float) -> bool: ...

    def stop(self) -> None: ...


@dataclass
class Prepared:
    """What synthesis made of one utterance (the payload of a synthesized QueuedUtterance)."""
    plan: SpeechPlan | None = None
    audio: Audio | None = None        # None: nothing to speak
    wav: str | None = None            # set when it starts playing, if WAVs are kept
    error: str | None = None


@dataclass(frozen=True)
class PipelineConfig:
    max_chars: int = 800              # a visitor's longer text is shortened (rest on screen); others refused
    queue_capacity: int = 32          # queued + in synthesis + ready; beyond it a request is refused
    wav_dir: str | None = None        # keep a WAV of every utterance really started here


class SpeakingPipeline:
    def __init__(self, voices: VoiceTable, synthesizer: Synthesizer, player: Player,
                 config: PipelineConfig = PipelineConfig(), synthesis_thread: bool = True,
                 on_synthesized: Callable[[], None] = lambda: None) -> None:
        self.voices, self.synthesizer, self.player, self.config = voices, synthesizer, player, config
        self.on_synthesized = on_synthesized    # called on the worker thread: time to call advance()
        self.waiting = SpeechQueue(config.queue_capacity)     # not yet synthesized
        self.ready = SpeechQueue(config.queue_capacity)       # synthesized, waiting for their turn
        self.current: QueuedUtterance | None = None
        self.player_problem = ''           # the last playback (or WAV) error, for diagnostics
        self._ids = itertools.count(1)
        self._spoken = itertools.count(1)  # numbers the WAV files in the order they are said
        # One lock for everything the worker shares: an item is queued, in synthesis or ready, never two.
        self._lock = threading.Lock()
        self._in_flight = 0                # queued + in synthesis
        self._synthesizing: QueuedUtterance | None = None
        self._cancel_synthesizing = False
        self._cancelled_late: list[QueuedUtterance] = []   # at most queue_capacity, payloads freed
        self.lost_reports = 0              # cancellations not reported because that list was full
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        if synthesis_thread:
            self._worker = threading.Thread(target=self._synthesis_loop, name='tts-synthesis', daemon=True)
            self._worker.start()

    # --- requests ---------------------------------------------------------------------------------
    def say(self, request: SpeakRequest, now: float) -> list[Output]:
        """Queue a request for synthesis, or refuse it (an `utterance_dropped` event with the reason).

        A visitor's text over max_chars is shortened (whole sentences up to the limit; the full text goes
        to the screen when it is said); anyone else's is refused. When the queues are full, a request of
        higher priority displaces the one that would be said last; otherwise it is refused."""
        utterance_id = request.id or f'u{next(self._ids)}'
        text, full_text, reason = request.text.strip(), None, ''
        if not text:
            reason = 'empty text'
        elif len(text) > self.config.max_chars and request.tag.visitor:
            text, full_text = shorten(text, self.config.max_chars), text
        elif len(text) > self.config.max_chars:
            reason = f'{len(text)} characters is more than max_chars={self.config.max_chars}'
        displaced: list[QueuedUtterance] = []
        if not reason:
            with self._lock:
                item = None
                if self._make_room(request.priority, displaced):
                    item = self.waiting.push(utterance_id, text, request.language, request.priority, request.tag,
                                             request.interrupt, full_text)
                if item is not None:
                    self._in_flight += 1
            reason = '' if item is not None else 'queue full'
        out = [_event(now, 'utterance_dropped', old.id, language=old.language, tag=old.tag,
                      reason='queue full: displaced by a request of higher priority') for old in displaced]
        if reason:
            return out + [_event(now, 'utterance_dropped', utterance_id, language=request.language, reason=reason,
                                 tag=request.tag)]
        self._wake.set()
        return out

    def _make_room(self, priority: int, displaced: list[QueuedUtterance]) -> bool:
        """Whether one more request fits (queued, in synthesis and ready together stay within
        queue_capacity), displacing the one that would be said last if it has a lower priority. Locked."""
        if self._in_flight + len(self.ready) < self.config.queue_capacity:
            return True
        last = max((q for q in (self.waiting.last(), self.ready.last()) if q is not None), default=None)
        if last is None or last.priority >= priority:
            return False
        if last.payload is None:
            self.waiting.remove(last)
            self._in_flight -= 1
        else:
            self.ready.remove(last)
        last.payload = None   # its audio is freed now, not when the caller lets go of the event
        displaced.append(last)
        return True

    def cancel(self, request: CancelSpeech, now: float) -> list[Output]:
        """Cancel matching utterances in every stage; those in synthesis are reported when it ends."""
        def covers(item: QueuedUtterance) -> bool:
            return cancel_matches(item, request.id, request.all, request.below_priority)
        with self._lock:
            removed = (self.waiting.cancel(request.id, request.all, request.below_priority)
                       + self.ready.cancel(request.id, request.all, request.below_priority))
            self._in_flight -= sum(1 for item in removed if item.payload is None)
            if self._synthesizing is not None and covers(self._synthesizing):
                self._cancel_synthesizing = True
        if self.current is not None and covers(self.current):
            self.player.stop()
            removed.append(self.current)
            self.current = None
        cancelled = [_event(now, 'utterance_cancelled', item.id, language=item.language, tag=item.tag)
                     for item in removed]
        return cancelled + self.advance(now)

    # --- synthesis ----------------------------------------------------------------------------------
    def synthesize_next(self) -> bool:
        """Synthesize the first queued utterance; False if none was queued. The worker thread's step."""
        with self._lock:
            item = self._synthesizing = self.waiting.pop()
            self._cancel_synthesizing = False
        if item is None:
            return False
        prepared = self._prepare(item)
        with self._lock:
            item.payload = prepared
            self._in_flight -= 1
            self._synthesizing = None
            if self._cancel_synthesizing:
                item.payload = None   # never said: its audio is freed at once
                if len(self._cancelled_late) < self.config.queue_capacity:
                    self._cancelled_late.append(item)
                else:   # nobody calls advance(): the report is lost, counted (memory stays bounded)
                    self.lost_reports += 1
            else:
                self.ready.requeue(item)
        self.on_synthesized()
        return True

    def _synthesis_loop(self) -> None:
        while not self._stopping.is_set():
            if not self.synthesize_next():
                self._wake.wait(0.2)
                self._wake.clear()

    def _prepare(self, item: QueuedUtterance) -> Prepared:
        try:
            plan = self.voices.plan(item.text, item.language)
            if not plan.voice:
                return Prepared(plan=plan)
            audio = self.synthesizer.synthesize(plan.spoken_text, plan.voice, plan.rate_wpm)
            return Prepared(plan=plan, audio=audio)
        except Exception as exc:  # a bad voice or engine error fails this utterance, never the robot
            return Prepared(error=f'{type(exc).__name__}: {exc}')

    # --- playback -----------------------------------------------------------------------------------
    def advance(self, now: float) -> list[Output]:
        """Report late cancellations, finish, interrupt and start utterances as of `now`."""
        out: list[Output] = []
        with self._lock:
            late, self._cancelled_late = self._cancelled_late, []
        out += [_event(now, 'utterance_cancelled', item.id, language=item.language, tag=item.tag)
                for item in late]
        if self.current is not None and self.player.finished(now):
            done, self.current = self.current, None
            out.append(_event(now, 'utterance_finished', done.id, **_describe(done)))
        if self.current is not None:
            with self._lock:
                upcoming = self.ready.peek()
            if upcoming is not None and upcoming.interrupt and upcoming.priority >= self.current.priority:
                interrupted, self.current = self.current, None
                self.player.stop()
                out.append(_event(now, 'utterance_cancelled', interrupted.id, reason='interrupted',
                                  **_describe(interrupted)))
        while self.current is None:
            with self._lock:
                item = self.ready.pop()
            if item is None:
                break
            out += self._start(item, now)
        return out

    def _start(self, item: QueuedUtterance, now: float) -> list[Output]:
        prepared: Prepared = item.payload
        if prepared.error:
            return [_event(now, 'utterance_failed', item.id, language=item.language, reason=prepared.error,
                           tag=item.tag)]
        out: list[Output] = []
        screen = item.full_text or prepared.plan.screen_text   # a shortened text is shown in full
        if screen:
            out += [ScreenText(text=screen, language=item.language, id=item.id),
                    _event(now, 'screen_text', item.id, language=item.language, text=screen, tag=item.tag)]
        if prepared.audio is None:
            return out
        try:
            if self.config.wav_dir:   # only what is really said: a cancelled utterance leaves no file
                prepared.wav = self._save_wav(item, prepared.audio)
            self.player.start(prepared.audio.samples, prepared.audio.sample_rate, now)
        except (PlayerError, OSError) as exc:
            self.player_problem = str(exc)
            return out + [_event(now, 'utterance_failed', item.id, language=item.language, reason=str(exc),
                                 tag=item.tag)]
        self.current = item
        # Resampled when it plays (~2 ms for 3 s), not when synthesized: under a flood most queued
        # utterances never play, and a 16 kHz copy of each grew the node's memory by 40-60 MB.
        reference = resample_int16(prepared.audio.samples, prepared.audio.sample_rate)
        if reference.size:
            out.append(Playback(item.id, now, reference))
        return out + [_event(now, 'utterance_started', item.id, **_describe(item))]

    def _save_wav(self, item: QueuedUtterance, audio: Audio) -> str:
        name = f'{next(self._spoken):04d}_{item.tag.purpose}_{item.tag.visitor or "robot"}_{item.language}.wav'
        path = Path(self.config.wav_dir) / ''.join(c if c.isalnum() or c in '._-' else '_' for c in name)
        write_wav(path, audio)
        return str(path)

    # --- state --------------------------------------------------------------------------------------
    @property
    def speaking(self) -> bool:
        return self.current is not None

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self.waiting) + len(self.ready)

    @property
    def busy(self) -> int:
        """Work not yet settled: queued or in synthesis, synthesized but not started while nothing plays,
        cancellations still to report. 0 means nothing changes until the clock moves."""
        with self._lock:
            idle_but_ready = 0 if self.current is not None else len(self.ready)
            return self._in_flight + idle_but_ready + len(self._cancelled_late)

    def close(self) -> None:
        """Stop the worker (after the utterance it is synthesizing) and the player. Safe to call twice."""
        self._stopping.set()
        self._wake.set()
        if self._worker is not None and self._worker.is_alive():
            self._worker.join(timeout=5.0)
        self.player.stop()


def _event(now: float, kind: str, utterance_id: str, **fields) -> SpeechEvent:
    return SpeechEvent(t=round(now, 4), type=kind, id=utterance_id, **fields)


def _describe(item: QueuedUtterance) -> dict:
    prepared: Prepared = item.payload
    plan = prepared.plan
    detail = plan.detail if item.full_text is None else (
        f'shortened: {len(item.text)} of {len(item.full_text)} characters said, all on screen; {plan.detail}')
    return {'language': item.language, 'spoken_language': plan.spoken_language, 'voice': plan.voice,
            'text': item.text, 'fallback': plan.fallback, 'detail': detail,
            'duration_s': round(prepared.audio.duration_s, 3), 'wav': prepared.wav, 'tag': item.tag,
            'priority': item.priority}
