"""interaction: greets, converses, says goodbye, drives the screen's card; a shell around InteractionManager."""
from __future__ import annotations

from dataclasses import fields

from pydantic import ValidationError

from caexpo_robot.backend.client import AssistantClient
from caexpo_robot.backend.credentials import TOKEN_ENV, assistant_token
from caexpo_robot.capabilities import diagnostic_values, language_rows
from caexpo_robot.dialogue.assistant_turns import AssistantTurns
from caexpo_robot.dialogue.interaction import Emit, InteractionConfig, InteractionManager
from caexpo_robot.dialogue.outputs import OUTPUTS, as_message
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import (
    BargeIn,
    FacesFrame,
    HearableLanguages,
    HeardSpeech,
    LanguageChosen,
    OperatorControl,
    SpeechEvent,
    TypedQuestion,
)
from caexpo_robot.nodes.common import OK, WARN, CaexpoNode, Param, ParamRule, Range, run_node

POSITIVE = Range(gt=0)


class InteractionNode(CaexpoNode):
    PARAMS = (
        Param('robot_id', 'greeter-1', 'this robot, as the assistant backend knows it'),
        Param('entrance', 'entrance_a', 'where the robot stands (directions are given relative to it)'),
        Param('opener_languages', ['zh', 'en'], 'before the visitor\'s language is known: the robot says hello in '
              'the first, the screen welcomes in all of them'),
        Param('default_language', 'en', 'language used when the visitor\'s is unknown'),
        Param('malay_indonesian_default', 'ms', 'ms or id: which to prefer when a text could be either'),
        Param('group_distance_m', 3.0, 'visitors not yet greeted and this near when someone engages share '
              'the greeting (a group arriving together)', check=POSITIVE),
        Param('greeting_cooldown_s', 6.0, 'visitors engaging within this after a greeting join that group',
              check=Range(ge=0)),
        Param('leave_after_s', 2.0, 'a visitor disengaged this long has left', check=POSITIVE),
        Param('listen_timeout_s', 8.0, 'silence before the robot prompts, and again before it says goodbye',
              check=POSITIVE),
        Param('min_confidence', 0.5, 'recognition results below this get "sorry, I did not catch that"',
              check=Range(ge=0, le=1)),
        Param('max_turns', 12, 'questions per visitor before the robot politely ends the conversation',
              check=Range(ge=1)),
        Param('thinking_timeout_s', 3.3, "the dialogue's own bound on waiting for the assistant (deadline + 10 %): "
              'then the canned answer, even if the client never calls back', check=POSITIVE),
        Param('speech_timeout_s', 15.0, 'a greeting, answer, farewell or prompt moves on after this long without '
              'news from tts beyond what is playing (tts lost or refused it)', check=POSITIVE),
        Param('operator_idle_s', 180.0, "an operator's takeover lapses (the robot answers again) after this long "
              'with no command from them and nothing heard from the visitor', check=POSITIVE),
        Param('assistant_url', '', 'assistant backend base URL; empty = no backend (canned answers only)'),
        Param('assistant_token_file', '', 'file holding this robot\'s assistant token (chmod 600); empty = the '
              f'environment variable {TOKEN_ENV}'),
        Param('assistant_deadline_s', 3.0, 'the visitor hears an answer (real or canned) within this',
              check=Range(gt=0, le=60)),
        Param('assistant_filler_after_s', 1.2, 'say "one moment please" if the answer takes longer', check=POSITIVE),
        Param('assistant_connect_timeout_s', 0.5, 'give up on a TCP connect after this long (a dead host fails fast)',
              check=POSITIVE),
        Param('assistant_retries', 2, 'extra attempts on connection errors and 5xx (writes carry an Idempotency-Key)',
              check=Range(ge=0, le=10)),
        Param('assistant_backoff_s', 0.1, 'first pause between attempts; doubles each retry; never past the deadline',
              check=Range(ge=0)),
        Param('assistant_breaker_failures', 3, 'consecutive failed turns that open the circuit breaker '
              '(then canned answers at once, no network)', check=Range(ge=1)),
        Param('assistant_breaker_reset_s', 20.0, 'after this long open, one trial turn probes the backend',
              check=POSITIVE),
    )
    PARAM_RULES = (  # else the backend's answer never counts, or the filler never plays
        ParamRule('thinking_timeout_s must be >= assistant_deadline_s',
                  lambda p: p.thinking_timeout_s >= p.assistant_deadline_s),
        ParamRule('assistant_filler_after_s must be < assistant_deadline_s',
                  lambda p: p.assistant_filler_after_s < p.assistant_deadline_s))

    def __init__(self, **kwargs) -> None:
        super().__init__('interaction', **kwargs)
        try:   # the parameters named like InteractionConfig's fields configure the dialogue
            config = InteractionConfig(**{f.name: getattr(self.p, f.name) for f in fields(InteractionConfig)
                                          if hasattr(self.p, f.name)})
        except ValueError as exc:
            raise SystemExit(f'interaction: {exc}') from None
        self.phrasebook = Phrasebook.load()
        # What the robot can do in each language, for operators (diagnostics); hearing comes from asr.
        self.language_rows = language_rows(None, phrasebook=self.phrasebook)
        self.manager = InteractionManager(config, self.phrase, self.phrasebook.canned_answer)
        # No backend configured: every question gets the canned answer at once, with no network attempt.
        # The assistant_* parameters are AssistantClient's settings, named alike (assistant_url its base_url).
        settings = {name.removeprefix('assistant_'): value for name, value in vars(self.p).items()
                    if name.startswith('assistant_') and name not in ('assistant_url', 'assistant_token_file')}
        token = assistant_token(self.p.assistant_token_file) if self.p.assistant_url else None
        if self.p.assistant_url and token is None:
            self.get_logger().warning(f'no assistant token (assistant_token_file or {TOKEN_ENV}): the backend will '
                                      'refuse every question and visitors get canned answers')
        client = None if not self.p.assistant_url else AssistantClient(
            self.p.assistant_url, self.p.robot_id, self.p.entrance, **settings, token=token,
            filler_text=lambda lang: self.phrase('one_moment', lang), canned_reply=self.phrasebook.canned_answer)
        self.turns = AssistantTurns(self.manager, client, self.phrasebook.canned_answer, self.p.default_language,
                                    self.now, wake=lambda: self._assistant_signal.trigger(), count=self.count,
                                    drop=self.drop)
        self.cores.append(self.turns)
        # Assistant callbacks arrive on the client's threads; the guard condition hands them to the executor.
        self._assistant_signal = self.create_guard_condition(lambda: self.apply(self.turns.drain()))
        for model in OUTPUTS:
            self.advertise(model)
        self.subscribe(FacesFrame, lambda frame: self.apply(self.manager.on_faces(frame.faces, self.now())))
        self.subscribe(SpeechEvent, lambda event: self.apply(self.manager.on_tts_event(event, self.now())))
        self.subscribe(HeardSpeech, lambda heard: self.apply(self.manager.on_heard_speech(heard, self.now())))
        # The visitor's voice over the robot's (asr, through the echo canceller) stops it at once, as a tap does.
        self.subscribe(BargeIn, self.on_barge_in)
        # The screen: a typed or tapped question, or a tapped language, stops the robot's speech at once.
        self.subscribe(TypedQuestion, lambda q: self.apply(self.manager.on_typed(q.text, q.language, self.now())))
        self.subscribe(LanguageChosen, lambda c: self.apply(self.manager.on_language_chosen(c.language, c.visitor,
                                                                                              self.now())))
        self.subscribe(HearableLanguages, self.on_hearable)
        # Staff (the telepresence node, which authenticated them): each command answered by one event.
        self.subscribe(OperatorControl, lambda c: self.apply(self.manager.on_operator(c, self.now())))
        # Every faces message ticks the dialogue; this keeps time when no frames arrive (camera gone).
        self.create_timer(0.1, lambda: self.apply(self.manager.tick(self.now())))
        self.apply(self.manager.start(self.now()))   # the screen's attract card (latched)

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def phrase(self, key: str, language: str, **values) -> str:
        return self.phrasebook.say(key, language, **values).text

    def on_hearable(self, languages: HearableLanguages) -> None:
        self.manager.set_hearable(languages.hearable)
        self.get_logger().info(f'visitors can speak in: {" ".join(sorted(self.manager.hearable)) or "none"}; '
                               'other languages are offered the screen')

    def on_barge_in(self, barge: BargeIn) -> None:
        actions = self.manager.on_barge_in(barge.t, self.now())
        if not actions:   # nobody addressed, or nothing being said to them
            self.count('barge_in_ignored')
        self.apply(actions)

    def apply(self, actions) -> None:
        for action in self.turns.route(actions):   # Ask, EndVisit, Abandon go to the assistant side
            try:
                self.publish(as_message(action, self.now()))
            except ValidationError as exc:   # a dialogue bug: reported, the robot goes on
                self.drop(type(action).__name__, str(exc.errors(include_url=False)[0]))
                continue
            if isinstance(action, Emit):
                self.count(f'events_{action.type}')

    def diagnostic_state(self):
        status = self.turns.status()
        staff = self.manager.staff
        values = {'addressed': self.manager.addressed or '', 'visitors': len(self.manager.visitors),
                  'operator': staff.holder or '', 'watched': staff.watched,
                  'greeting_paused': staff.greeting_paused,
                  **{f'assistant_{k}': v for k, v in status.items()},
                  **diagnostic_values(self.language_rows, self.manager.hearable)}
        if self.turns.client is not None and str(status.get('breaker', 'closed')) != 'closed':
            return WARN, f'assistant backend unavailable (breaker {status.get("breaker")})', values
        return OK, f'addressing {self.manager.addressed}' if self.manager.addressed else 'waiting for visitors', values

    def close(self) -> None:
        self.turns.close()


def main(args=None) -> int:
    return run_node(InteractionNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
