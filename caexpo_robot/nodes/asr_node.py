"""asr: offline speech recognition of the robot's audio (Vosk and Whisper), listening while it speaks.

A shell around listening/recognizer.py's AsrEngine: microphone chunks in, HeardSpeech and BargeIn out.
Whisper's decodes (~0.7 s on 2 cores) run on one worker thread; their results come back to the executor
through a guard condition, so audio keeps flowing while the robot thinks.
"""
from __future__ import annotations

from pydantic import ValidationError
from std_msgs.msg import Bool, String, UInt8MultiArray

from caexpo_robot.config_files import ConfigError
from caexpo_robot.listening.config import load_asr_config
from caexpo_robot.listening.decode_worker import DecodeWorker
from caexpo_robot.listening.heard import heard_speech
from caexpo_robot.listening.recognizer import AsrEngine, BargeInHeard, Decode, Partial, Utterance
from caexpo_robot.messages import (
    BargeIn,
    ConversationStarted,
    HearableLanguages,
    HeardSpeech,
    LanguageChosen,
    SpeechEvent,
)
from caexpo_robot.nodes.audio_msgs import PLAYBACK_QOS, PLAYBACK_TOPIC, audio_from_msg, playback_from_msg
from caexpo_robot.nodes.common import AUDIO, ERROR, EVENTS, LATCHED, OK, WARN, CaexpoNode, Param, run_node


class AsrNode(CaexpoNode):
    PARAMS = (
        Param('config_file', '', 'speech recognition YAML (languages and engines, models, Whisper, trust, VAD, '
              'echo cancelling, grammars); empty = the packaged config/asr.yaml'),
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
                self.get_logger().info(f'{language}: {status.engine} ({status.detail}) from {status.path}'
                                       + ('' if status.trusted else '; transcripts not trusted: screen offered'))
            else:   # reported, not fatal: the robot still greets and takes typed questions
                self.get_logger().warning(f'{language}: not heard ({status.state}): {status.detail}')
        if self.engine.duplex_problem:
            self.get_logger().warning(self.engine.duplex_problem)
        self.grammar = ''
        if self.p.grammar:
            self.set_grammar(self.p.grammar)
        self.worker = DecodeWorker(self.engine, lambda: self._decoded.trigger())
        self.cores.append(self.worker)   # the simulator's clock waits for decodes in flight
        self._decoded = self.create_guard_condition(lambda: self.publish_results(self.worker.drain()))
        for model in (HeardSpeech, BargeIn):
            self.advertise(model)
        self.publish(HearableLanguages(   # latched: the interaction node learns it whenever it starts
            hearable=list(self.engine.trusted_languages),
            unavailable={language: why[:2000] for language, why in self.engine.not_acted_on().items()}))
        self.create_subscription(UInt8MultiArray, 'audio/chunks', self.on_audio, AUDIO)
        self.create_subscription(UInt8MultiArray, PLAYBACK_TOPIC, self.on_playback, PLAYBACK_QOS)
        self.create_subscription(Bool, 'tts/speaking', self.on_speaking, LATCHED)
        self.create_subscription(String, 'asr/grammar', lambda msg: self.set_grammar(msg.data.strip()), EVENTS)
        self.subscribe(SpeechEvent, self.on_speech_event)
        self.subscribe(ConversationStarted, self.on_conversation)
        self.subscribe(LanguageChosen, lambda chosen: self.engine.choose_language(chosen.language))

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

    def on_playback(self, msg: UInt8MultiArray) -> None:
        try:
            pcm, t_start, utterance_id = playback_from_msg(msg)
        except ValueError as exc:
            self.drop('playback', str(exc))
            return
        self.engine.robot_audio(pcm, t_start, utterance_id)

    def on_speech_event(self, event: SpeechEvent) -> None:
        if event.type == 'utterance_cancelled':   # cut short: the speaker falls silent there
            self.engine.robot_stopped(event.t, event.id)

    def on_conversation(self, started: ConversationStarted) -> None:
        # A new visitor: forget the previous visitor's language; their language if known, else the priors.
        self.engine.new_visitor(started.language, started.expected)
        self.count('conversations')

    def on_audio(self, msg: UInt8MultiArray) -> None:
        try:
            data, rate = audio_from_msg(msg)
        except ValueError as exc:
            self.drop('audio', str(exc))
            return
        # A chunk is published when its last sample was captured: it began its duration ago (a rate of 0
        # is refused by the engine's validator, counted).
        duration = len(data) / (2.0 * rate) if rate > 0 else 0.0
        self.publish_results(self.engine.process(data, self.now() - duration, rate))

    def publish_results(self, results) -> None:
        for result in results:
            if isinstance(result, Decode):
                self.worker.submit(result)
                continue
            if isinstance(result, Partial) and not self.p.publish_partials:
                continue
            try:
                if isinstance(result, BargeInHeard):
                    self.count('barge_ins')
                    self.publish(BargeIn(t=max(0.0, result.onset_t), fired_t=max(0.0, result.fired_t),
                                         level_dbfs=result.level_dbfs))
                    continue
                self.count('utterances' if isinstance(result, Utterance) else 'partials')
                self.publish(heard_speech(result))
            except ValidationError as exc:   # a recognizer oddity: reported, listening goes on
                self.drop('result', str(exc.errors(include_url=False)[0]))

    def diagnostic_state(self):
        statuses = self.engine.statuses
        values = {f'model_{language}': f'{s.engine} {s.state}' + (f' ({s.path})' if s.path else f' ({s.detail})')
                  for language, s in statuses.items()}
        values.update({f'asr_{key}': value for key, value in self.engine.stats().items()
                       if isinstance(value, (int, float, str))})
        values['grammar'] = self.grammar or 'free'
        values['decodes_in_flight'] = self.worker.busy
        loaded = [language for language, s in statuses.items() if s.state == 'loaded']
        if not loaded:
            return ERROR, 'no speech model loaded: visitors can only type', values
        missing = [language for language, s in statuses.items() if s.state != 'loaded']
        if missing or self.engine.duplex_problem:
            problem = f'no model for {" ".join(missing)}' if missing else self.engine.duplex_problem
            return WARN, f'listening in {" ".join(loaded)}; {problem}', values
        return OK, f'listening in {" ".join(loaded)}', values

    def close(self) -> None:
        self.worker.close()


def main(args=None) -> int:
    return run_node(AsrNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
