"""tts: speaks SpeakRequests with espeak-ng voices, one at a time, highest priority first.

The pipeline itself (queues, synthesis worker, cancel, interrupt, screen text, WAVs) is
caexpo_robot/speaking/pipeline.py; this node feeds it the node clock (sim time in simulation, where
an utterance lasts exactly its audio duration) and publishes what it reports, including the audio each
utterance plays (16 kHz, with its start time on the node clock) on tts/playback: the echo canceller's
reference (layout in nodes/audio_msgs.py).
"""
from __future__ import annotations

from pathlib import Path

from std_msgs.msg import Bool, UInt8MultiArray
from std_srvs.srv import Trigger

from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import CancelSpeech, ScreenText, SpeakRequest, SpeechEvent
from caexpo_robot.nodes.audio_msgs import PLAYBACK_QOS, PLAYBACK_TOPIC, playback_msg
from caexpo_robot.nodes.common import ERROR, LATCHED, OK, CaexpoNode, OneOf, Param, Range, run_node
from caexpo_robot.speaking import pinyin  # noqa: F401  (at start, not at the first Mandarin text: ~55 MiB, 0.2 s)
from caexpo_robot.speaking.pipeline import PipelineConfig, Playback, SpeakingPipeline
from caexpo_robot.speaking.players import ClockPlayer, PlayerError, SoundDevicePlayer
from caexpo_robot.speaking.synthesizer import create_synthesizer
from caexpo_robot.speaking.voices import VoiceTable

COUNTED = {'utterance_finished': 'utterances_spoken', 'utterance_failed': 'utterances_failed'}


class TtsNode(CaexpoNode):
    PARAMS = (
        Param('audio_output', 'device', "'device': play on the sound device; 'file': write WAV files to "
              "wav_dir and let each utterance last its duration on the node clock (simulation)",
              check=OneOf('device', 'file')),
        Param('wav_dir', '', 'folder for a WAV file of every utterance (required for audio_output=file)'),
        Param('device', '', 'sound output device name or index; empty = the system default'),
        Param('engine', 'espeak-ng', "speech engine: 'espeak-ng' (its command line, one process per "
              "utterance: a crash costs one utterance) or 'pyttsx3' (driving libespeak-ng in process)",
              check=OneOf('espeak-ng', 'pyttsx3')),
        Param('max_chars', 800, "a visitor's longer text is said shortened (whole sentences) and shown in full; "
              'other longer requests are refused (counted drop)', check=Range(ge=20, le=20000)),
        Param('queue_capacity', 32, 'utterances queued, in synthesis and ready together; beyond it a request is '
              'refused or displaces one of lower priority (counted drop)', check=Range(ge=1, le=1000)),
        Param('voices_file', '', 'voice table YAML; empty = the packaged config/voices.yaml'),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('tts', **kwargs)
        player, problem = ClockPlayer(), ''
        if self.p.audio_output == 'file':
            if not self.p.wav_dir:
                raise SystemExit('tts: audio_output=file needs wav_dir')
            Path(self.p.wav_dir).mkdir(parents=True, exist_ok=True)
        else:
            try:
                player = SoundDevicePlayer(self.p.device or None)
            except PlayerError as exc:
                # Keep the dialogue going (screen text, timing) rather than die at an entrance.
                problem = str(exc)
                self.get_logger().error(f'{exc}; utterances are timed but not heard')
        for model in (SpeechEvent, ScreenText):
            self.advertise(model)
        self.speaking_pub = self.create_publisher(Bool, 'tts/speaking', LATCHED)
        self.playback_pub = self.create_publisher(UInt8MultiArray, PLAYBACK_TOPIC, PLAYBACK_QOS)
        self.speaking = False
        self.speaking_pub.publish(Bool(data=False))
        self._synthesized = self.create_guard_condition(self.advance)
        # Polls the player while an utterance plays; stopped when silent (an idle robot stays idle).
        self._playback_timer = self.create_timer(0.02, self.advance)
        self.core = SpeakingPipeline(
            VoiceTable.load(self.p.voices_file or None, phrasebook=Phrasebook.load()),
            create_synthesizer(self.p.engine), player,
            PipelineConfig(self.p.max_chars, self.p.queue_capacity, self.p.wav_dir or None),
            on_synthesized=self._synthesized.trigger)
        self.core.player_problem = problem
        self.cores.append(self.core)   # pending_work() is its busy count
        self.subscribe(SpeakRequest, lambda request: self.emit(self.core.say(request, self.now())))
        self.subscribe(CancelSpeech, lambda request: self.emit(self.core.cancel(request, self.now())))
        self.create_service(Trigger, 'tts/stop', self.on_stop)

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def on_stop(self, _request, response):
        outputs = self.core.cancel(CancelSpeech(all=True), self.now())
        self.emit(outputs)
        stopped = sum(isinstance(m, SpeechEvent) and m.type == 'utterance_cancelled' for m in outputs)
        response.success, response.message = True, f'stopped {stopped} utterance(s)'
        return response

    def advance(self) -> None:
        self.emit(self.core.advance(self.now()))

    def emit(self, outputs) -> None:
        """Publish the pipeline's messages, count what they report, follow the speaking state."""
        for message in outputs:
            if isinstance(message, Playback):
                self.playback_pub.publish(playback_msg(message.samples_16k.astype('<i2').tobytes(), message.t,
                                                       message.id))
                continue
            self.publish(message)
            kind = message.type if isinstance(message, SpeechEvent) else None
            if kind == 'utterance_dropped':
                self.drop('request', message.reason)
            elif kind in COUNTED:
                self.count(COUNTED[kind])
        if self.core.speaking != self.speaking:
            self.speaking = self.core.speaking
            self.speaking_pub.publish(Bool(data=self.speaking))
        if self.speaking and self._playback_timer.is_canceled():
            self._playback_timer.reset()
        elif not self.speaking and not self._playback_timer.is_canceled():
            self._playback_timer.cancel()

    def diagnostic_state(self):
        values = {'queued': self.core.queued, 'speaking': self.speaking, 'engine': self.p.engine,
                  'audio_output': self.p.audio_output, 'cancel_reports_lost': self.core.lost_reports}
        if self.core.player_problem:
            return ERROR, f'cannot play audio: {self.core.player_problem}', values
        return OK, 'speaking' if self.speaking else 'idle', values

    def close(self) -> None:
        self.core.close()


def main(args=None) -> int:
    return run_node(TtsNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
