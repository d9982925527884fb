"""The simulated entrance: the robot's real nodes in one process, driven by a scenario on a simulated clock.

Lock-step: the clock advances one tick only when the whole graph is idle (every callback run, every
node's background work — speech synthesis, assistant calls — finished). A run is therefore
deterministic and faster than real time; its latencies are in sim time, pipeline delays only.
"""
from __future__ import annotations

import heapq
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import ShutdownException, SingleThreadedExecutor, TimeoutException
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import UInt8MultiArray

from caexpo_robot import graph
from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.listening.audio import SAMPLE_RATE, resample_int16
from caexpo_robot.messages import (
    BargeIn,
    FacesFrame,
    HeardSpeech,
    InteractionEvent,
    LanguageChosen,
    SpeechEvent,
    TypedQuestion,
)
from caexpo_robot.nodes.audio_msgs import audio_msg
from caexpo_robot.nodes.common import AUDIO, CAMERA_OUT, LATCHED, TypedNode
from caexpo_robot.nodes.conversions import camera_info_msg, image_msg
from caexpo_robot.perception.geometry import iou
from caexpo_robot.sim.backend_latency import SimulatedBackendLatency
from caexpo_robot.sim.entrance import EntranceRenderer
from caexpo_robot.sim.microphone import EchoPath, SimulatedMicrophone
from caexpo_robot.sim.scenario import Scenario, VisitorInput
from caexpo_robot.sim.synthetic_audio import synthesize_speech
from caexpo_robot.speaking.synthesizer import read_wav
from caexpo_robot.speaking.voices import VoiceTable

NS = 1_000_000_000
AUDIO_CHUNK_NS = 100_000_000      # the simulated microphone publishes 100 ms chunks
TICK_NS = 20_000_000              # the clock's resolution (the tts node polls playback at 50 Hz)
# The robot's speaker in its own microphone: 25 ms late (sound path and device buffers), about 10 dB
# quieter, with a 150 ms room tail.
ROBOT_ECHO = EchoPath(delay_s=0.025, gain=0.3, reverb_s=0.15, seed=11)


class SimError(RuntimeError):
    """The simulation cannot go on (the graph stalled, a node failed to start)."""


class LockstepExecutor(SingleThreadedExecutor):
    def run_one(self, timeout_sec: float) -> bool:
        """Run one ready callback; False if none became ready within the timeout."""
        try:
            handler, _entity, _node = self.wait_for_ready_callbacks(timeout_sec)
        except (TimeoutException, ShutdownException):
            return False
        handler()
        if handler.exception() is not None:
            raise handler.exception()
        return True


@dataclass
class Recorder:
    """What the run produced, kept in memory and written out at the end."""
    events: list[dict] = field(default_factory=list)
    track_votes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    last_faces_stamp_ns: int = -1
    frames_with_faces: int = 0
    detect_ms: list[float] = field(default_factory=list)
    speech: list[tuple[str, float, float]] = field(default_factory=list)   # (visitor, start, end of voice)
    utterance_ends_ns: list[int] = field(default_factory=list)              # heap: when robot speech ends

    def who(self, track_id: str | None) -> str | None:
        votes = self.track_votes.get(track_id or '')
        return votes.most_common(1)[0][0] if votes else None


class SimDriver(TypedNode):
    """Publishes the clock, the camera and the visitors' typing; records what the robot does."""

    def __init__(self, context: Context, recorder: Recorder, truth: Callable[[int], dict],
                 log: Callable[[str], None], microphone: SimulatedMicrophone) -> None:
        super().__init__('sim_driver', context=context)
        self.recorder, self.truth, self.log, self.microphone = recorder, truth, log, microphone
        self.audio_pub = self.create_publisher(UInt8MultiArray, 'audio/chunks', AUDIO)
        self.clock_pub = self.create_publisher(Clock, '/clock', LATCHED)
        self.image_pub = self.create_publisher(Image, 'camera/image_raw', CAMERA_OUT)
        self.info_pub = self.create_publisher(CameraInfo, 'camera/camera_info', CAMERA_OUT)
        self.advertise(TypedQuestion)
        self.advertise(LanguageChosen)
        self.subscribe(FacesFrame, self.on_faces)
        self.subscribe(InteractionEvent, self.on_interaction_event)
        self.subscribe(SpeechEvent, self.on_tts_event)
        self.subscribe(HeardSpeech, self.on_heard)
        self.subscribe(BargeIn, self.on_barge_in)

    def on_faces(self, frame: FacesFrame) -> None:
        stamp_ns = int(round(frame.stamp * NS))
        truth = self.truth(stamp_ns)
        for face in frame.faces:
            box = (face.x, face.y, face.w, face.h)
            best = max(truth.items(), key=lambda item: iou(box, item[1]), default=None)
            if best is not None and iou(box, best[1]) > 0.3:
                self.recorder.track_votes[face.id][best[0]] += 1
        self.recorder.frames_with_faces += bool(frame.faces)
        self.recorder.detect_ms.append(frame.detect_ms or 0.0)
        self.recorder.last_faces_stamp_ns = stamp_ns

    def on_interaction_event(self, message: InteractionEvent) -> None:
        # events.jsonl keeps a flat record per event (the shape the tests and the summary read).
        event = message.model_dump(mode='json', exclude_none=True, exclude={'version'})
        self.recorder.events.append({'topic': InteractionEvent.TOPIC, **event})
        self.log(self._describe(event))

    def on_heard(self, message: HeardSpeech) -> None:
        """The asr node's final results (which engine, language probability, trusted), as it published them."""
        if message.final:
            event = message.model_dump(mode='json', exclude_none=True, exclude={'version', 'words', 'candidates'})
            self.recorder.events.append({'topic': HeardSpeech.TOPIC, 't': message.end, **event})
            self.log(f'[{message.end or 0.0:7.2f}] asr heard ({message.engine}, {message.language}'
                     f'{"" if message.trusted else ", untrusted"}): "{message.text}"')

    def on_barge_in(self, message: BargeIn) -> None:
        self.recorder.events.append({'topic': BargeIn.TOPIC, **message.model_dump(mode='json', exclude={'version'})})
        self.log(f'[{message.fired_t:7.2f}] asr barge-in: voice from {message.t:.2f} s at {message.level_dbfs} dBFS')

    def on_tts_event(self, message: SpeechEvent) -> None:
        event = message.model_dump(mode='json', exclude_none=True, exclude={'version', 'tag'})
        event.setdefault('voice', None)
        self.recorder.events.append({'topic': SpeechEvent.TOPIC, **event, 'visitor': message.tag.visitor,
                                     'purpose': message.tag.purpose})
        if event['type'] == 'utterance_started':
            heapq.heappush(self.recorder.utterance_ends_ns, int(round((event['t'] + event['duration_s']) * NS)))
            if event.get('wav'):   # the robot hears itself through its own microphone
                audio = read_wav(event['wav'])
                self.microphone.play(event['t'], resample_int16(audio.samples, audio.sample_rate), key=event['id'])
            fallback = f' [{event["detail"]}]' if event.get('fallback') else ''
            self.log(f'[{event["t"]:7.2f}] robot ({event["language"]}): {event["text"]}{fallback}')
        elif event['type'] == 'utterance_cancelled':
            self.microphone.stop(event['id'], event['t'])   # cut short: its echo ends here too
        elif event['type'] in ('utterance_failed', 'utterance_dropped', 'screen_text'):
            self.log(f'[{event["t"]:7.2f}] tts {event["type"]}: {event.get("reason") or event.get("text")}')

    def _describe(self, event: dict) -> str:
        who = self.recorder.who(event.get('visitor'))
        name = f'{event.get("visitor")}' + (f' ({who})' if who else '')
        extra = ''
        if event['type'] in ('visitor_engaged', 'visitor_detected') and 'distance_m' in event:
            extra = f' at {event["distance_m"]:.1f} m'
        elif event.get('text') and event['type'] in ('utterance_heard', 'question_sent'):
            extra = f': "{event["text"]}" [{event.get("language")}]'
        elif event['type'] == 'language_identified':
            extra = f': {event.get("language")}'
        elif event['type'] in ('greeting_started',) and event.get('group'):
            extra = f' (group {", ".join(event["group"])})'
        return f'[{event["t"]:7.2f}] {event["type"]:<19} {name}{extra}'

    def publish_clock(self, t_ns: int) -> None:
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = divmod(t_ns, NS)
        self.clock_pub.publish(msg)

    def publish_frame(self, frame, t_ns: int, hfov_deg: float) -> None:
        stamp = Clock().clock
        stamp.sec, stamp.nanosec = divmod(t_ns, NS)
        self.image_pub.publish(image_msg(frame, stamp, 'camera_optical_frame'))
        self.info_pub.publish(camera_info_msg(frame.shape[1], frame.shape[0], hfov_deg, stamp,
                                              'camera_optical_frame'))

    def publish_audio(self, t_ns: int) -> None:
        self.audio_pub.publish(audio_msg(self.microphone.chunk((t_ns - AUDIO_CHUNK_NS) / NS, AUDIO_CHUNK_NS / NS)))

    def type_at_kiosk(self, text: str) -> None:
        self.publish(TypedQuestion(text=text))

    def tap(self, what: str, language: str, phrasebook: Phrasebook) -> str:
        """A tap on the screen as the screen node sends it: a language, or a quick question's phrase in the
        visitor's language (via='tap'). Returns what was tapped, for the log."""
        if what in LANGUAGES:
            self.publish(LanguageChosen(language=what))
            return f'language {what}'
        text = phrasebook.say(what, language).text
        self.publish(TypedQuestion(text=text, language=language, via='tap'))
        return f'{what}: "{text}"'


def visitor_voice(utterance: VisitorInput, language: str, voices: VoiceTable) -> 'np.ndarray':
    """A visitor's words as 16 kHz int16 audio: their recording, or espeak-ng standing in for a voice."""
    if utterance.wav:
        audio = read_wav(utterance.wav)
        return resample_int16(audio.samples, audio.sample_rate, SAMPLE_RATE)
    plan = voices.plan(utterance.text, language)   # the scenario loader refused languages with no voice
    pcm = synthesize_speech(plan.spoken_text, plan.voice, plan.rate_wpm)
    return np.frombuffer(pcm, dtype='<i2')


def voiced_duration(samples: np.ndarray, frame: int = 320, threshold_dbfs: float = -45.0) -> float:
    """Seconds from the start to the end of the last 20 ms frame louder than the threshold."""
    count = len(samples) // frame
    if count == 0:
        return 0.0
    frames = samples[:count * frame].astype(np.float64).reshape(count, frame)
    level = 20 * np.log10(np.sqrt(np.mean(frames ** 2, axis=1)) / 32768.0 + 1e-12)
    voiced = np.nonzero(level > threshold_dbfs)[0]
    return (voiced[-1] + 1) * frame / SAMPLE_RATE if voiced.size else 0.0


def _model_backend_latency(nodes: list, latency_s: float) -> SimulatedBackendLatency | None:
    """Put the interaction node's assistant client behind the sim-clock latency model (see
    sim/backend_latency.py); None when the scenario runs without a backend."""
    interaction = next(node for node in nodes if node.get_name() == 'interaction')
    if interaction.turns.client is None:
        return None
    backend = SimulatedBackendLatency(
        interaction.turns.client, interaction.now, latency_s=latency_s,
        filler_after_s=interaction.p.assistant_filler_after_s, deadline_s=interaction.p.assistant_deadline_s,
        filler_text=lambda language: interaction.phrase('one_moment', language),
        canned_text=interaction.phrasebook.canned_answer)
    interaction.turns.client = backend
    return backend


def _overrides(values: dict) -> list[Parameter]:
    return [Parameter(name, value=value) for name, value in values.items()] + [
        Parameter('use_sim_time', value=True)]


def run_simulation(scenario: Scenario, out_dir: Path, *, log: Callable[[str], None] = print,
                   settle_timeout_s: float = 30.0) -> dict:
    out_dir = Path(out_dir)
    speech_dir = out_dir / 'speech'
    speech_dir.mkdir(parents=True, exist_ok=True)
    for old in speech_dir.glob('*.wav'):
        old.unlink()
    renderer = None if scenario.video else EntranceRenderer(scenario.width, scenario.height, scenario.hfov_deg,
                                                             scenario.visitors)
    params = graph.load_params()
    for node_name, values in scenario.robot.items():
        params.setdefault(node_name, {}).update(values or {})
    params.setdefault('tts', {}).update({'audio_output': 'file', 'wav_dir': str(speech_dir)})
    assistant = None
    if scenario.assistant == 'embedded':
        from caexpo_assistant import start_in_thread
        db = out_dir / 'assistant.sqlite3'
        if db.exists():
            db.unlink()
        assistant = start_in_thread(db_url=f'sqlite:///{db}')
        interaction = params.setdefault('interaction', {})
        interaction['assistant_url'] = assistant.url
        # The robot's token, issued by the embedded assistant, reaches the node as a file only it may read.
        token_file = out_dir / 'assistant-token'
        token_file.unlink(missing_ok=True)
        token_file.touch(mode=0o600)
        token_file.write_text(assistant.robot_token(interaction.get('robot_id', 'greeter-1')) + '\n', encoding='utf-8')
        interaction['assistant_token_file'] = str(token_file)
    elif scenario.assistant != 'none':
        params.setdefault('interaction', {})['assistant_url'] = scenario.assistant

    frames_cache: dict[int, dict] = {}
    recorder = Recorder()
    context = Context()
    rclpy.init(context=context, args=[])
    nodes: list = []
    executor = LockstepExecutor(context=context)
    video = None
    wall_started = time.perf_counter()
    try:
        for name in graph.SIM_NODES:
            # No parameter services: nobody can call them in this process, and each is polled every wait.
            nodes.append(graph.node_class(name)(context=context, parameter_overrides=_overrides(params.get(name, {})),
                                                start_parameter_services=False))
        backend = _model_backend_latency(nodes, scenario.assistant_latency_s)
        microphone = SimulatedMicrophone(noise_dbfs=scenario.noise_dbfs, echo=ROBOT_ECHO)
        driver = SimDriver(context, recorder, lambda t_ns: frames_cache.get(t_ns, {}), log, microphone)
        voices = VoiceTable.load()
        phrasebook = Phrasebook.load()
        for node in (*nodes, driver):
            executor.add_node(node)
        if scenario.video:
            from caexpo_robot.camera.sources import VideoCaptureSource
            video = VideoCaptureSource(scenario.video, loop=True, width=scenario.width, height=scenario.height)
            video.open()

        def settle(condition: Callable[[], bool], what: str) -> None:
            deadline = time.monotonic() + settle_timeout_s
            quiet = 0
            while quiet < 2:
                if executor.run_one(0.0005):
                    quiet = 0
                elif condition() and not any(node.pending_work() for node in nodes):
                    quiet += 1
                else:
                    quiet = 0
                if time.monotonic() > deadline:
                    busy = {node.get_name(): node.pending_work() for node in nodes}
                    raise SimError(f'graph did not settle ({what}) within {settle_timeout_s} s; busy: {busy}')

        frame_ns = int(round(NS / scenario.fps))
        end_ns = int(scenario.duration_s * NS)
        typing = sorted(((int(u.at * NS), plan.name, u) for plan in scenario.visitors for u in plan.says),
                        key=lambda item: item[0])
        next_frame_ns, next_audio_ns, frames = 0, AUDIO_CHUNK_NS, 0
        t_ns = 0

        def next_instant() -> int:
            """The next moment anything is due — a frame, an audio chunk, a visitor's input, the end of the
            robot's utterance — on the 20 ms grid. Nothing happens in between, so nothing is skipped."""
            ends = recorder.utterance_ends_ns
            while ends and ends[0] <= t_ns:
                heapq.heappop(ends)
            reply_due = backend.due() if backend is not None else None
            due = min([next_frame_ns, next_audio_ns, end_ns] + ([typing[0][0]] if typing else [])
                      + ([ends[0]] if ends else []) + ([int(reply_due * NS)] if reply_due is not None else []))
            return -(-max(due, t_ns + 1) // TICK_NS) * TICK_NS

        settle(lambda: True, 'start-up')
        while t_ns < end_ns:
            t_ns = next_instant()
            driver.publish_clock(t_ns)
            settle(lambda now=t_ns: all(n.get_clock().now().nanoseconds >= now for n in nodes), 'clock')
            if backend is not None:    # the assistant's fillers, replies and deadlines due by now
                backend.tick(t_ns / NS)
                settle(lambda: True, 'assistant')
            if t_ns >= next_frame_ns:
                next_frame_ns += frame_ns
                t = t_ns / NS
                if video is not None:
                    frame, truth = video.read(), {}
                else:
                    placements = []
                    for plan in scenario.visitors:
                        where = plan.at(t)
                        if where is not None:
                            placements.append((plan.name, where[0], where[1]))
                    frame, truth = renderer.render(placements)
                frames_cache.clear()
                frames_cache[t_ns] = truth
                driver.publish_frame(frame, t_ns, scenario.hfov_deg)
                frames += 1
                settle(lambda now=t_ns: recorder.last_faces_stamp_ns == now, f'frame at {t:.2f} s')
            while typing and typing[0][0] <= t_ns:
                _, name, utterance = typing.pop(0)
                plan = next(p for p in scenario.visitors if p.name == name)
                if backend is not None and utterance.assistant_latency_s is not None:
                    backend.next_latency_s = utterance.assistant_latency_s   # for the question this asks
                if utterance.via == 'kiosk':
                    log(f'[{t_ns / NS:7.2f}] {name} types: "{utterance.text}"')
                    driver.type_at_kiosk(utterance.text)
                    settle(lambda: True, 'visitor input')
                elif utterance.via == 'tap':
                    log(f'[{t_ns / NS:7.2f}] {name} taps {driver.tap(utterance.text, plan.language, phrasebook)}')
                    settle(lambda: True, 'visitor input')
                else:
                    samples = visitor_voice(utterance, plan.language, voices)
                    microphone.add(t_ns / NS, samples)
                    voiced_s = voiced_duration(samples)
                    recorder.speech.append((name, t_ns / NS, t_ns / NS + voiced_s))
                    log(f'[{t_ns / NS:7.2f}] {name} says ({voiced_s:.1f} s): "{utterance.text}"')
            if t_ns >= next_audio_ns:
                driver.publish_audio(next_audio_ns)
                next_audio_ns += AUDIO_CHUNK_NS
                settle(lambda: True, 'audio')
        wall_s = time.perf_counter() - wall_started
        counters = {node.get_name(): dict(node.counters) for node in nodes}
    finally:
        executor.shutdown()
        for node in nodes:
            node.close()
            node.destroy_node()
        if video is not None:
            video.close()
        rclpy.try_shutdown(context=context)
        if assistant is not None:
            assistant.stop()

    for event in recorder.events:
        who = recorder.who(event.get('visitor'))
        if who:
            event['scenario_visitor'] = who
    with open(out_dir / 'events.jsonl', 'w', encoding='utf-8') as out:
        for event in recorder.events:
            out.write(json.dumps(event, ensure_ascii=False) + '\n')
    summary = summarize(scenario, recorder, frames, wall_s, counters)
    (out_dir / 'summary.json').write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding='utf-8')
    return summary


def spoken_seconds(events: list[dict]) -> dict[str, tuple[str | None, str, float]]:
    """{utterance id: (visitor, purpose, seconds heard)} of every utterance the robot started: its duration,
    or until it was cancelled (a visitor who taps stops it)."""
    heard = {}
    for event in events:
        if event['topic'] != SpeechEvent.TOPIC:
            continue
        if event['type'] == 'utterance_started':
            heard[event['id']] = (event.get('visitor'), event.get('purpose') or '', event['t'],
                                  event.get('duration_s') or 0.0)
        elif event['type'] == 'utterance_cancelled' and event['id'] in heard:
            visitor, purpose, start, duration = heard[event['id']]
            heard[event['id']] = (visitor, purpose, start, min(duration, max(0.0, event['t'] - start)))
    return {key: (visitor, purpose, round(seconds, 2)) for key, (visitor, purpose, _, seconds) in heard.items()}


def summarize(scenario: Scenario, recorder: Recorder, frames: int, wall_s: float, counters: dict) -> dict:
    interaction = [e for e in recorder.events if e['topic'] == InteractionEvent.TOPIC]
    visitors = {}
    latencies, to_listening, answer_seconds = [], [], []
    spoken = spoken_seconds(recorder.events)
    for plan in scenario.visitors:
        tracks = sorted({e['visitor'] for e in interaction
                         if e.get('scenario_visitor') == plan.name and e.get('visitor')})
        engaged = next((e['t'] for e in interaction
                        if e['type'] == 'visitor_engaged' and e.get('visitor') in tracks), None)

        def involves(event: dict, tracks=tracks) -> bool:   # addressed to this visitor, alone or in their group
            return bool(set(event.get('group') or [event.get('visitor')]) & set(tracks))
        greetings = [e for e in interaction if e['type'] == 'greeting_started' and involves(e)]
        # Engaging during the cooldown after a greeting joins that group: the greeting (already under way,
        # its started event lists the first members only) was for them too, and its finish lists them.
        joined = not greetings and any(e['type'] == 'greeting_finished' and involves(e) or
                                       e['type'] == 'asked_to_wait' and e.get('visitor') in tracks
                                       and 'joined group' in (e.get('detail') or '') for e in interaction)
        latency_ms = None
        if engaged is not None and greetings:
            # A visitor who joins a group being greeted has no latency of their own: the greeting started earlier.
            latency_ms = round(max(0.0, greetings[0]['t'] - engaged) * 1000, 1)
            latencies.append(latency_ms)
        answers = [e for e in interaction if e['type'] == 'answer_started' and e.get('visitor') in tracks]
        # Engaged -> the robot listening to them (or to their group): the pacing of the greeting.
        listening = next((e['t'] for e in interaction if e['type'] == 'listening_started' and involves(e)
                          and engaged is not None and e['t'] >= engaged), None)
        listening_s = round(listening - engaged, 2) if listening is not None else None
        if listening_s is not None:
            to_listening.append(listening_s)
        # What the robot said to them: to them, and its greeting to their group (said to the closest member).
        group = {m for e in interaction if e['type'] in ('greeting_started', 'greeting_finished') and involves(e)
                 for m in e.get('group') or []}
        mine = [(purpose, seconds) for visitor, purpose, seconds in spoken.values()
                if visitor in tracks or purpose == 'greeting' and visitor in group]
        answer_s = [seconds for purpose, seconds in mine if purpose == 'answer']
        answer_seconds += answer_s
        # End of the visitor's voice → first audio of the answer (includes the endpointer's silence wait).
        responses = []
        for name, _start, voice_end in recorder.speech:
            answer = next((a for a in answers if a['t'] >= voice_end), None) if name == plan.name else None
            if answer is not None:
                responses.append(round((answer['t'] - voice_end) * 1000))
        visitors[plan.name] = {
            'language': plan.language, 'tracks': tracks, 'engaged_t': engaged,
            'greetings': len(greetings) + joined, 'joined_group': joined,
            'greeting_t': greetings[0]['t'] if greetings else None,
            'greeting_latency_ms': latency_ms,
            'identified_language': next((e.get('language') for e in interaction if e['type'] == 'language_identified'
                                         and e.get('visitor') in tracks), None),
            'answers': [{'t': e['t'], 'language': e.get('language'), 'text': e.get('text')} for e in answers],
            'speech_to_answer_ms': responses,
            'farewell': any(e['type'] == 'farewell_started' and involves(e) for e in interaction),
            'engaged_to_listening_s': listening_s,
            'speech_s': round(sum(seconds for _, seconds in mine), 2),       # what the robot said to them
            'greeting_speech_s': round(sum(seconds for purpose, seconds in mine if purpose == 'greeting'), 2),
            'longest_answer_s': max(answer_s, default=None),
        }
    started = [e for e in recorder.events if e['topic'] == SpeechEvent.TOPIC and e['type'] == 'utterance_started']
    return {
        'scenario': scenario.name, 'sim_duration_s': scenario.duration_s, 'wall_s': round(wall_s, 2),
        'speedup_vs_realtime': round(scenario.duration_s / wall_s, 2) if wall_s > 0 else None,
        'frames': frames, 'frames_with_faces': recorder.frames_with_faces,
        'detect_ms_mean': round(sum(recorder.detect_ms) / len(recorder.detect_ms), 2) if recorder.detect_ms else None,
        'visitors': visitors,
        'greetings': sum(1 for e in interaction if e['type'] == 'greeting_started'),
        'greeting_latency_ms': {'max': max(latencies), 'mean': round(sum(latencies) / len(latencies), 1)}
        if latencies else None,
        'utterances': len(started),
        'speech_s': round(sum(e.get('duration_s', 0.0) for e in started), 2),
        # The pacing figures: every visitor listened to within 3.5 s of engaging, no answer over ~10 s.
        'engaged_to_listening_s': {'max': max(to_listening), 'mean': round(sum(to_listening) / len(to_listening), 2)}
        if to_listening else None,
        'longest_answer_s': max(answer_seconds, default=None),
        'counters': counters,
    }
