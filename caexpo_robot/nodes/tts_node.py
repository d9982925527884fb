"""tts: speaks {text, language, priority} requests with espeak-ng voices, one at a time, highest priority first.

Synthesis runs on a worker thread (it takes tens of milliseconds); starting, finishing and cancelling
utterances happen in executor callbacks, so events and the "speaking" flag follow the node clock
(sim time in simulation, where an utterance lasts exactly its audio duration).
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path

from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from caexpo_robot import events
from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.nodes.common import ERROR, EVENTS, LATCHED, OK, CaexpoNode, Param, run_node
from caexpo_robot.speaking.players import ClockPlayer, PlayerError, SoundDevicePlayer
from caexpo_robot.speaking.speech_queue import PRIORITY_NAMES, QueuedUtterance, SpeechQueue, cancel_matches
from caexpo_robot.speaking.synthesizer import create_synthesizer, write_wav
from caexpo_robot.speaking.voices import VoiceTable


@dataclass
class Prepared:
    plan: object = None        # SpeechPlan
    audio: object = None       # Audio, or None when there is nothing to speak
    wav: str | None = None
    error: str | None = None


class TtsNode(CaexpoNode):
    PARAMS = (
        Param('audio_output', 'device', "'device': play on the sound device; 'file': write WAV files to "
              "wav_dir and let each utterance last its duration on the node clock (simulation)"),
        Param('wav_dir', '', 'folder for a WAV file of every utterance (required for audio_output=file)'),
        Param('device', '', 'sound output device name or index; empty = the system default'),
        Param('engine', 'espeak-ng', "speech engine: 'espeak-ng' (its command line, one process per "
              "utterance: a crash costs one utterance) or 'pyttsx3' (driving libespeak-ng in process)"),
        Param('max_chars', 800, 'longer requests are refused (counted drop): the assistant should summarise'),
        Param('queue_capacity', 32, 'requests waiting beyond this are refused (counted drop)'),
        Param('voices_file', '', 'voice table YAML; empty = the packaged config/voices.yaml'),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('tts', **kwargs)
        self.voices = VoiceTable.load(self.p.voices_file or None, phrasebook=Phrasebook.load())
        self.synthesizer = create_synthesizer(self.p.engine)
        self.player_problem = ''
        if self.p.audio_output == 'file':
            if not self.p.wav_dir:
                raise SystemExit('tts: audio_output=file needs wav_dir')
            Path(self.p.wav_dir).mkdir(parents=True, exist_ok=True)
            self.player = ClockPlayer(self.now)
        else:
            try:
                self.player = SoundDevicePlayer(self.p.device or None)
            except PlayerError as exc:
                # Keep the dialogue going (screen text, timing) rather than die at an entrance.
                self.player_problem = str(exc)
                self.get_logger().error(f'{exc}; utterances are timed but not heard')
                self.player = ClockPlayer(self.now)
        self.waiting = SpeechQueue(self.p.queue_capacity)     # requests not yet synthesized
        self.ready = SpeechQueue(self.p.queue_capacity)       # synthesized, waiting for their turn
        self.current: QueuedUtterance | None = None
        self.speaking = False
        self._ids = itertools.count(1)
        self._spoken = itertools.count(1)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._synthesizing: QueuedUtterance | None = None   # the item on the worker thread right now
        self._cancel_synthesizing = False
        self._cancelled_late: list[QueuedUtterance] = []
        self._stopping = threading.Event()
        self._wake = threading.Event()

        self.events_pub = self.create_publisher(String, 'tts/events', EVENTS)
        self.speaking_pub = self.create_publisher(Bool, 'tts/speaking', LATCHED)
        self.screen_pub = self.create_publisher(String, 'tts/screen_text', EVENTS)
        self.create_subscription(String, 'tts/say', self.on_say, EVENTS)
        self.create_subscription(String, 'tts/cancel', self.on_cancel, EVENTS)
        self.create_service(Trigger, 'tts/stop', self.on_stop)
        self._ready_signal = self.create_guard_condition(self.advance)
        # Polls the player while an utterance plays; stopped when silent (an idle robot stays idle).
        self._playback_timer = self.create_timer(0.02, self.advance)
        self.speaking_pub.publish(Bool(data=False))
        self._worker = threading.Thread(target=self._synthesis_loop, name='tts-synthesis', daemon=True)
        self._worker.start()

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # --- requests -------------------------------------------------------------------------------
    def on_say(self, msg: String) -> None:
        try:
            request = events.decode('tts_request', msg.data)
        except events.EventError as exc:
            self.drop('request', str(exc))
            return
        utterance_id = request.get('id') or f'u{next(self._ids)}'
        text, language = request['text'].strip(), request['language']
        priority = request.get('priority', PRIORITY_NAMES['normal'])
        reason = ('empty text' if not text else
                  f'{len(text)} characters is more than max_chars={self.p.max_chars}'
                  if len(text) > self.p.max_chars else
                  f'unknown language {language!r} (known: {" ".join(LANGUAGES)})'
                  if language not in LANGUAGES else '')
        if reason:
            self.drop('request', reason)
            self.publish_event('utterance_dropped', utterance_id, language=language, reason=reason,
                               tag=request.get('tag', {}))
            return
        with self._lock:
            item = self.waiting.push(utterance_id, text, language, priority, request.get('tag'),
                                     request.get('interrupt', False))
            if item is not None:
                self._in_flight += 1
        if item is None:
            self.drop('request', 'queue full')
            self.publish_event('utterance_dropped', utterance_id, language=language, reason='queue full',
                               tag=request.get('tag', {}))
            return
        self._wake.set()

    def on_cancel(self, msg: String) -> None:
        try:
            request = events.decode('tts_cancel', msg.data)
        except events.EventError as exc:
            self.drop('cancel', str(exc))
            return
        self.cancel(request.get('id'), request.get('all', False), request.get('below_priority'))

    def on_stop(self, _request, response):
        cancelled = self.cancel(None, True, None)
        response.success, response.message = True, f'stopped {cancelled} utterance(s)'
        return response

    def cancel(self, utterance_id: str | None, everything: bool, below_priority: int | None) -> int:
        current = self.current
        with self._lock:   # the worker pops under this lock too: an item is queued, in synthesis or ready
            removed = (self.waiting.cancel(utterance_id, everything, below_priority)
                       + self.ready.cancel(utterance_id, everything, below_priority))
            self._in_flight -= sum(1 for item in removed if item.payload is None)
            synthesizing = self._synthesizing
            if synthesizing is not None and cancel_matches(synthesizing, utterance_id, everything, below_priority):
                self._cancel_synthesizing = True   # dropped (and reported) when its synthesis ends
        for item in removed:
            self.publish_event('utterance_cancelled', item.id, language=item.language, tag=item.tag)
        if current and cancel_matches(current, utterance_id, everything, below_priority):
            self.player.stop()
            self.current = None
            self.publish_event('utterance_cancelled', current.id, language=current.language, tag=current.tag)
            removed.append(current)
        self.advance()
        return len(removed)

    # --- synthesis (worker thread) ----------------------------------------------------------------
    def _synthesis_loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                item = self._synthesizing = self.waiting.pop()
                self._cancel_synthesizing = False
            if item is None:
                self._wake.wait(0.2)
                self._wake.clear()
                continue
            prepared = self._prepare(item)
            with self._lock:
                item.payload = prepared
                self._in_flight -= 1
                self._synthesizing = None
                if self._cancel_synthesizing:   # cancelled while it was being synthesized
                    self._cancelled_late.append(item)
                else:
                    self.ready.requeue(item)
            self._ready_signal.trigger()

    def _prepare(self, item: QueuedUtterance) -> Prepared:
        try:
            plan = self.voices.plan(item.text, item.language)
            if not plan.voice:
                return Prepared(plan=plan)
            audio = self.synthesizer.synthesize(plan.spoken_text, plan.voice, plan.rate_wpm)
            return Prepared(plan=plan, audio=audio)
        except Exception as exc:  # a bad voice or engine error fails this utterance, never the node
            return Prepared(error=f'{type(exc).__name__}: {exc}')

    # --- playback (executor) ----------------------------------------------------------------------
    def advance(self) -> None:
        with self._lock:
            late, self._cancelled_late = self._cancelled_late, []
        for item in late:
            self.publish_event('utterance_cancelled', item.id, language=item.language, tag=item.tag)
        if self.current is not None and self.player.finished():
            done, self.current = self.current, None
            self.publish_event('utterance_finished', done.id, **self._describe(done))
            self.count('utterances_spoken')
        if self.current is not None:
            upcoming = self.ready.pop()
            if upcoming is not None:
                self.ready.requeue(upcoming)
                if upcoming.interrupt and upcoming.priority >= self.current.priority:
                    interrupted, self.current = self.current, None
                    self.player.stop()
                    self.publish_event('utterance_cancelled', interrupted.id, reason='interrupted',
                                       **self._describe(interrupted))
        while self.current is None:
            item = self.ready.pop()
            if item is None:
                break
            prepared: Prepared = item.payload
            if prepared.error:
                self.count('utterances_failed')
                self.publish_event('utterance_failed', item.id, language=item.language,
                                   reason=prepared.error, tag=item.tag)
                continue
            if prepared.plan.screen_text:
                self.screen_pub.publish(String(data=events.encode('screen_text', {
                    'text': prepared.plan.screen_text, 'language': item.language, 'id': item.id})))
                self.publish_event('screen_text', item.id, language=item.language,
                                   text=prepared.plan.screen_text, tag=item.tag)
            if prepared.audio is None:
                continue
            try:
                if self.p.wav_dir:   # only what is really said (a cancelled utterance leaves no file)
                    prepared.wav = self._save_wav(item, prepared.audio)
                self.player.start(prepared.audio.samples, prepared.audio.sample_rate)
            except (PlayerError, OSError) as exc:
                self.player_problem = str(exc)
                self.count('utterances_failed')
                self.publish_event('utterance_failed', item.id, language=item.language, reason=str(exc),
                                   tag=item.tag)
                continue
            self.current = item
            self.publish_event('utterance_started', item.id, **self._describe(item))
        self._set_speaking(self.current is not None)
        if self.current is None and not self._playback_timer.is_canceled():
            self._playback_timer.cancel()
        elif self.current is not None and self._playback_timer.is_canceled():
            self._playback_timer.reset()

    def _save_wav(self, item: QueuedUtterance, audio) -> str:
        purpose = str(item.tag.get('purpose', 'say'))
        visitor = str(item.tag.get('visitor', 'robot'))
        name = f'{next(self._spoken):04d}_{purpose}_{visitor}_{item.language}.wav'
        path = str(Path(self.p.wav_dir) / ''.join(c if c.isalnum() or c in '._-' else '_' for c in name))
        write_wav(path, audio)
        return path

    def _describe(self, item: QueuedUtterance) -> dict:
        prepared: Prepared = item.payload
        plan = prepared.plan
        return {'language': item.language, 'spoken_language': plan.spoken_language, 'voice': plan.voice,
                'text': item.text, 'fallback': plan.fallback, 'detail': plan.detail,
                'duration_s': round(prepared.audio.duration_s, 3), 'wav': prepared.wav, 'tag': item.tag,
                'priority': item.priority}

    def _set_speaking(self, speaking: bool) -> None:
        if speaking != self.speaking:
            self.speaking = speaking
            self.speaking_pub.publish(Bool(data=speaking))

    def publish_event(self, kind: str, utterance_id: str, **fields) -> None:
        fields = {key: value for key, value in fields.items() if value is not None or key in ('voice',)}
        self.events_pub.publish(String(data=events.encode('tts_event', {
            't': round(self.now(), 4), 'type': kind, 'id': utterance_id, **fields})))

    # --- housekeeping -----------------------------------------------------------------------------
    def pending_work(self) -> int:
        with self._lock:
            idle_but_ready = 0 if self.current is not None else len(self.ready)
            return self._in_flight + idle_but_ready + len(self._cancelled_late)

    def diagnostic_state(self):
        values = {'queued': len(self.waiting) + len(self.ready), 'speaking': self.speaking,
                  'engine': self.p.engine, 'audio_output': self.p.audio_output}
        if self.player_problem:
            return ERROR, f'cannot play audio: {self.player_problem}', values
        return OK, 'speaking' if self.speaking else 'idle', values

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._worker.is_alive():
            self._worker.join(timeout=5.0)
        self.player.stop()


def main(args=None) -> int:
    return run_node(TtsNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
