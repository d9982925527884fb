"""asr: offline speech recognition (Vosk) of the robot's audio, muted while the robot speaks."""
from __future__ import annotations

from pydantic import ValidationError
from std_msgs.msg import Bool, String, UInt8MultiArray

from caexpo_robot.config_files import ConfigError
from caexpo_robot.listening.config import load_asr_config
from caexpo_robot.listening.heard import heard_speech
from caexpo_robot.listening.recognizer import AsrEngine, Partial, Utterance
from caexpo_robot.messages import ConversationStarted, HearableLanguages, HeardSpeech
from caexpo_robot.nodes.audio_msgs import audio_from_msg
from caexpo_robot.nodes.common import AUDIO, ERROR, EVENTS, LATCHED, OK, WARN, CaexpoNode, Param, run_node


class AsrNode(CaexpoNode):
    PARAMS = (
        Param('config_file', '', 'speech recognition YAML (languages, models, endpointing, grammars); '
              'empty = the packaged config/asr.yaml'),
        Param('grammar', '', 'phrase-list mode at start (a key of `grammars` in the config, e.g. halls); '
              'empty = free recognition. Switch at run time on asr/grammar'),
        Param('publish_partials', True, 'also publish partial results (final=false) while the visitor speaks'),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('asr', **kwargs)
        try:
            config = load_asr_config(self.p.config_file or None)
        except ConfigError as exc:
            raise SystemExit(f'asr: {exc}') from None
        self.engine = AsrEngine(config)
        for language, status in self.engine.statuses.items():
            if status.state == 'loaded':
                self.get_logger().info(f'{language}: model loaded from {status.path} in {status.load_s:.1f} s')
            elif status.state == 'missing':
                # Reported, not fatal: the robot still greets and takes typed questions.
                self.get_logger().warning(f'{language}: no model installed: {status.detail}')
            else:
                self.get_logger().error(f'{language}: model {status.state}: {status.detail}')
        self.grammar = ''
        if self.p.grammar:
            self.set_grammar(self.p.grammar)
        self.advertise(HeardSpeech)
        self.publish(HearableLanguages(   # latched: the interaction node learns it whenever it starts
            hearable=list(self.engine.languages),
            unavailable={language: f'{s.state}: {s.detail}'[:2000] for language, s in self.engine.statuses.items()
                         if s.state != 'loaded'}))
        self.create_subscription(UInt8MultiArray, 'audio/chunks', self.on_audio, AUDIO)
        self.create_subscription(Bool, 'tts/speaking', self.on_speaking, LATCHED)
        self.create_subscription(String, 'asr/grammar', lambda msg: self.set_grammar(msg.data.strip()), EVENTS)
        self.subscribe(ConversationStarted, self.on_conversation)

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def set_grammar(self, mode: str) -> None:
        known = self.engine.config.grammars
        if mode and mode not in known:
            self.drop('grammar', f'unknown grammar {mode!r}; known: {", ".join(sorted(known)) or "none"}')
            return
        rejected = self.engine.set_grammar(mode or None)
        self.grammar = mode
        for language, phrases in (rejected or {}).items():
            if phrases:
                self.get_logger().warning(f'{language}: grammar {mode!r} phrases not in the model: {phrases}')
        self.get_logger().info(f'recognition mode: {mode or "free"}')

    def on_speaking(self, msg: Bool) -> None:
        self.engine.set_speaking(bool(msg.data), self.now())

    def on_conversation(self, started: ConversationStarted) -> None:
        # A new visitor: forget the previous visitor's language and speaker adaptation.
        self.engine.new_visitor()
        self.count('conversations')

    def on_audio(self, msg: UInt8MultiArray) -> None:
        try:
            data, rate = audio_from_msg(msg)
        except ValueError as exc:
            self.drop('audio', str(exc))
            return
        self.publish_results(self.engine.process(data, self.now(), rate))

    def publish_results(self, results) -> None:
        for result in results:
            if isinstance(result, Partial) and not self.p.publish_partials:
                continue
            self.count('utterances' if isinstance(result, Utterance) else 'partials')
            try:
                self.publish(heard_speech(result))
            except ValidationError as exc:   # a recognizer oddity: reported, listening goes on
                self.drop('result', str(exc.errors(include_url=False)[0]))

    def diagnostic_state(self):
        statuses = self.engine.statuses
        values = {f'model_{language}': f'{s.state}' + (f' ({s.path})' if s.path else f' ({s.detail})')
                  for language, s in statuses.items()}
        values.update({f'asr_{key}': value for key, value in self.engine.stats().items()
                       if isinstance(value, (int, float, str))})
        values['grammar'] = self.grammar or 'free'
        loaded = [language for language, s in statuses.items() if s.state == 'loaded']
        if not loaded:
            return ERROR, 'no speech model loaded: visitors can only type', values
        missing = [language for language, s in statuses.items() if s.state != 'loaded']
        if missing:
            return WARN, f'listening in {" ".join(loaded)}; no model for {" ".join(missing)}', values
        return OK, f'listening in {" ".join(loaded)}', values


def main(args=None) -> int:
    return run_node(AsrNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
