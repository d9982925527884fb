"""interaction: greets engaged visitors, holds the conversation, says goodbye; a shell around InteractionManager."""
from __future__ import annotations

import queue
import threading

from std_msgs.msg import String

from caexpo_robot import events
from caexpo_robot.backend.client import AssistantClient
from caexpo_robot.dialogue.interaction import (Ask, Cancel, Emit, EndVisit, FaceObservation, InteractionConfig,
                                               InteractionManager, Say)
from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.langid import identify
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.language.report import language_rows
from caexpo_robot.nodes.common import EVENTS, LATCHED, OK, WARN, CaexpoNode, Param, run_node


class InteractionNode(CaexpoNode):
    PARAMS = (
        Param('robot_id', 'greeter-1', 'this robot, as the assistant backend knows it'),
        Param('entrance', 'entrance_a', 'where the robot stands (directions are given relative to it)'),
        Param('opener_languages', ['zh', 'en'], 'languages of the opening greeting, before the visitor\'s '
              'language is known; the last one also offers help'),
        Param('default_language', 'en', 'language used when the visitor\'s is unknown'),
        Param('malay_indonesian_default', 'ms', 'ms or id: which to prefer when a text could be either'),
        Param('group_distance_m', 3.0, 'visitors not yet greeted and this near when someone engages share '
              'the greeting (a group arriving together)'),
        Param('greeting_cooldown_s', 6.0, 'visitors engaging within this after a greeting join that group'),
        Param('leave_after_s', 2.0, 'a visitor disengaged this long has left'),
        Param('listen_timeout_s', 8.0, 'silence before the robot prompts, and again before it says goodbye'),
        Param('min_confidence', 0.5, 'recognition results below this get "sorry, I did not catch that"'),
        Param('max_turns', 12, 'questions per visitor before the robot politely ends the conversation'),
        Param('assistant_url', '', 'assistant backend base URL; empty = no backend (canned answers only)'),
        Param('assistant_deadline_s', 3.0, 'the visitor hears an answer (real or canned) within this'),
        Param('assistant_filler_after_s', 1.2, 'say "one moment please" if the answer takes longer'),
        Param('assistant_connect_timeout_s', 0.5, 'give up on a TCP connect after this long (a dead host fails fast)'),
        Param('assistant_retries', 2, 'extra attempts on connection errors and 5xx (writes carry an Idempotency-Key)'),
        Param('assistant_backoff_s', 0.1, 'first pause between attempts; doubles each retry; never past the deadline'),
        Param('assistant_breaker_failures', 3, 'consecutive failed turns that open the circuit breaker '
              '(then canned answers at once, no network)'),
        Param('assistant_breaker_reset_s', 20.0, 'after this long open, one trial turn probes the backend'),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('interaction', **kwargs)
        unknown = [code for code in [*self.p.opener_languages, self.p.default_language] if code not in LANGUAGES]
        if unknown:
            raise SystemExit(f'interaction: unknown language code(s) {unknown}; known: {" ".join(LANGUAGES)}')
        self.phrasebook = Phrasebook.load()
        # What the robot can do in each language, for operators (diagnostics); hearing comes from asr.
        self.language_rows = language_rows(None, phrasebook=self.phrasebook)
        self.manager = InteractionManager(InteractionConfig(
            opener_languages=tuple(self.p.opener_languages), default_language=self.p.default_language,
            group_distance_m=self.p.group_distance_m, greeting_cooldown_s=self.p.greeting_cooldown_s,
            leave_after_s=self.p.leave_after_s, listen_timeout_s=self.p.listen_timeout_s,
            min_confidence=self.p.min_confidence, max_turns=self.p.max_turns), self.phrase)
        # No backend configured: every question gets the canned answer at once, with no network attempt.
        self.client = None if not self.p.assistant_url else AssistantClient(
            self.p.assistant_url, self.p.robot_id, self.p.entrance,
            deadline_s=self.p.assistant_deadline_s, filler_after_s=self.p.assistant_filler_after_s,
            connect_timeout_s=self.p.assistant_connect_timeout_s, retries=self.p.assistant_retries,
            backoff_s=self.p.assistant_backoff_s, breaker_failures=self.p.assistant_breaker_failures,
            breaker_reset_s=self.p.assistant_breaker_reset_s,
            filler_text=lambda lang: self.phrase('one_moment', lang),
            canned_reply=self.client_canned)
        # Assistant callbacks arrive on the client's threads; they are handed to the executor here.
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._outstanding = 0
        self._lock = threading.Lock()
        self.say_pub = self.create_publisher(String, 'tts/say', EVENTS)
        self.cancel_pub = self.create_publisher(String, 'tts/cancel', EVENTS)
        self.events_pub = self.create_publisher(String, 'interaction/events', EVENTS)
        self.create_subscription(String, 'humans/faces/tracked', self.on_faces, EVENTS)
        self.create_subscription(String, 'tts/events', self.on_tts_event, EVENTS)
        self.create_subscription(String, 'speech/heard', self.on_heard, EVENTS)
        self.create_subscription(String, 'kiosk/text', self.on_kiosk_text, EVENTS)
        self.create_subscription(String, 'speech/languages', self.on_speech_languages, LATCHED)
        self._assistant_signal = self.create_guard_condition(self.drain_inbox)
        # Every faces message ticks the dialogue; this only keeps time when no frames arrive (camera gone).
        self.create_timer(0.5, lambda: self.apply(self.manager.tick(self.now())))

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def client_canned(self, language: str) -> str:
        return f"{self.phrase('handoff_failed', language)} {self.phrase('call_staff', language)}"

    def phrase(self, key: str, language: str, **values) -> str:
        return self.phrasebook.say(key, language, **values).text

    # --- inputs ---------------------------------------------------------------------------------
    def on_faces(self, msg: String) -> None:
        try:
            frame = events.decode('faces', msg.data)
            faces = [FaceObservation(str(f['id']), float(f['distance_m']), bool(f['engaged']),
                                     bool(f.get('confirmed', True))) for f in frame['faces']]
        except (events.EventError, KeyError, TypeError, ValueError) as exc:
            self.drop('faces', str(exc))
            return
        self.apply(self.manager.on_faces(faces, self.now()))

    def on_tts_event(self, msg: String) -> None:
        try:
            event = events.decode('tts_event', msg.data)
        except events.EventError as exc:
            self.drop('tts_event', str(exc))
            return
        self.apply(self.manager.on_tts_event(event, self.now()))

    def on_heard(self, msg: String) -> None:
        try:
            result = events.decode('asr_result', msg.data)
        except events.EventError as exc:
            self.drop('asr_result', str(exc))
            return
        if result['final']:
            self.apply(self.manager.on_heard(result['text'], result['language'],
                                             float(result.get('confidence', 1.0)), self.now(), 'speech'))

    def on_speech_languages(self, msg: String) -> None:
        try:
            hearable = events.decode('speech_languages', msg.data)['hearable']
        except events.EventError as exc:
            self.drop('speech_languages', str(exc))
            return
        self.manager.set_hearable(code for code in hearable if code in LANGUAGES)
        self.get_logger().info(f'visitors can speak in: {" ".join(sorted(self.manager.hearable)) or "none"}; '
                               'other languages are offered the screen')

    def on_kiosk_text(self, msg: String) -> None:
        try:
            typed = events.decode('kiosk_text', msg.data)
        except events.EventError as exc:
            self.drop('kiosk_text', str(exc))
            return
        language = typed.get('language')
        confidence = 1.0
        if language not in LANGUAGES:
            guess = identify(typed['text'], prefer=self.p.malay_indonesian_default)
            language, confidence = guess.code, guess.confidence
        # Typed text is exact: only the language can be uncertain, so its confidence gates the reply.
        self.apply(self.manager.on_heard(typed['text'], language, max(confidence, self.p.min_confidence)
                                         if language else 0.0, self.now(), 'kiosk'))

    # --- assistant (client threads → executor) ---------------------------------------------------
    def _ask(self, action: Ask) -> None:
        if self.client is None:
            self._answer_canned(action)
            return

        def on_reply(reply) -> None:
            self._inbox.put(('reply', action.visitor, reply))
            self._assistant_signal.trigger()

        def on_filler(text: str, language: str) -> None:
            self._inbox.put(('filler', action.visitor, (text, language)))
            self._assistant_signal.trigger()

        with self._lock:   # before ask(): the reply may arrive on the client's thread at once
            self._outstanding += 1
        try:
            self.client.ask(action.visitor, action.text, action.language, on_reply=on_reply, on_filler=on_filler)
        except (ValueError, RuntimeError) as exc:   # refused before sending: the visitor still gets an answer
            with self._lock:
                self._outstanding -= 1
            self.drop('question', str(exc))
            self._answer_canned(action)

    def _answer_canned(self, action: Ask) -> None:
        self.count('assistant_canned_replies')
        language = action.language if action.language in LANGUAGES else self.p.default_language
        self.apply(self.manager.on_reply(action.visitor, self.client_canned(language), language, 'fallback',
                                         [{'type': 'offer_call_staff'}], False, 'canned', self.now()))

    def drain_inbox(self) -> None:
        while True:
            try:
                kind, visitor, payload = self._inbox.get_nowait()
            except queue.Empty:
                return
            now = self.now()
            if kind == 'filler':
                self.apply(self.manager.on_filler(visitor, payload[0], payload[1], now))
                continue
            with self._lock:
                self._outstanding -= 1
            if payload.source != 'backend':
                self.count('assistant_canned_replies')
            self.apply(self.manager.on_reply(visitor, payload.text, payload.language, payload.intent,
                                             list(payload.actions or []), payload.end_session, payload.source,
                                             now))

    # --- outputs --------------------------------------------------------------------------------
    def apply(self, actions) -> None:
        for action in actions:
            if isinstance(action, Say):
                self.say_pub.publish(String(data=events.encode('tts_request', {
                    'id': action.id, 'text': action.text, 'language': action.language,
                    'priority': action.priority, 'tag': action.tag, 'interrupt': action.interrupt})))
            elif isinstance(action, Emit):
                fields = {k: v for k, v in action.fields.items() if v is not None or k in ('visitor', 'language')}
                fields.setdefault('t', round(self.now(), 4))
                self.events_pub.publish(String(data=events.encode('interaction_event',
                                                                  {'type': action.type, **fields})))
                self.count(f'events_{action.type}')
            elif isinstance(action, Ask):
                self._ask(action)
            elif isinstance(action, EndVisit):
                if self.client is not None:
                    self.client.end_visit(action.visitor)
            elif isinstance(action, Cancel):
                self.cancel_pub.publish(String(data=events.encode('tts_cancel', {'id': action.id})))

    def pending_work(self) -> int:
        with self._lock:
            return self._outstanding

    def diagnostic_state(self):
        status = self.client.status() if self.client is not None else {'breaker': 'no backend configured'}
        values = {'addressed': self.manager.addressed or '', 'visitors': len(self.manager.visitors),
                  **{f'assistant_{k}': v for k, v in status.items()},
                  **{f'language_{row["code"]}': f'phrasebook {row["phrasebook"]}; voice {row["tts"]}; '
                     f'speech {"heard" if row["code"] in self.manager.hearable else "typed on the screen"}'
                     for row in self.language_rows}}
        if self.client is not None and str(status.get('breaker', 'closed')) != 'closed':
            return WARN, f'assistant backend unavailable (breaker {status.get("breaker")})', values
        return OK, f'addressing {self.manager.addressed}' if self.manager.addressed else 'waiting for visitors', values

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def main(args=None) -> int:
    return run_node(InteractionNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
