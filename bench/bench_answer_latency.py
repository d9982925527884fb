"""Answer latency in wall-clock real time: from the end of a visitor's question to the first audio of
the robot's answer, with Whisper base and with Vosk (prints figures; asserts nothing).

    .venv/bin/python bench/bench_answer_latency.py [--runs 10] [--lead 1.5]

What runs, all in this process, on the wall clock:
- listening: a real AsrEngine from the packaged config/asr.yaml (Vosk for ko, Whisper base int8 on
  `whisper.cpu_threads` threads for the rest, Silero VAD, echo canceller), fed 100 ms chunks at real-time
  pace by one "executor" loop; each chunk is handed over when its last sample would have been captured
  (as the microphone node publishes it). Whisper's Decode requests run on the asr node's own
  DecodeWorker (listening/decode_worker.py, one worker thread), whose results wake the loop, which
  completes them on the engine's thread, exactly as the asr node does with its guard condition. The
  model is warm (loaded and decoded once at start, `whisper.warm_up`), as on a robot after start-up.
- the answer: the interaction node's AssistantClient asking the reference assistant (caexpo_assistant,
  started in a thread of this process over loopback, as `caexpo-robot sim` does; a new visitor each run,
  so the turn includes opening the backend session); then the tts node's SpeakingPipeline with espeak-ng
  on its synthesis worker says the reply's spoken form (what the robot says: its first sentence(s)) and
  the moment of its `utterance_started` is the first audio (the player starts then; a sound card's own
  output buffer is not included).
Not included: ROS transport asr -> interaction -> tts and the dialogue's own bookkeeping (each a few ms
in-process; bench_greeter.py measures the sim graph).

Questions (each normalised to -30 dBFS active level, over -50 dBFS espeak-ng babble (SNR 20 dB) and a
-65 dBFS pink floor, after `--lead` seconds of that noise):
- en rec: the recorded English digits (../shared/data/speech/en_digits_test.wav), its first phrase,
  0.1 s more pause than its own faint tails, its second phrase (~3 s, "one zero zero zero one, nine oh
  two one oh"): the pause sends a first decode out that the second phrase makes stale, as a visitor's hesitation would;
- en tts: an espeak-ng English question (~3 s); ko tts: an espeak-ng Korean question, heard by Vosk.
End of speech: for the recording, its second phrase's offset as bench_vad.py measures it (the last 20 ms
window 10 dB over the whole recording's floor); for espeak-ng's questions (digital silence around them), the
last 20 ms window at or above their active level - 30 dB. "detected": a new visitor with the robot's
opener languages (zh, en) as priors, language ID on; "locked": the visitor's language known (tapped).
espeak-ng's synthetic speech is a poor stand-in for visitors: the text heard is printed, not tuned to.
"""
from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_vad  # noqa: E402  (the recording, level measures and hall noise of the VAD comparison)
import numpy as np  # noqa: E402

from caexpo_robot.listening.audio import SAMPLE_RATE  # noqa: E402
from caexpo_robot.listening.config import load_asr_config  # noqa: E402
from caexpo_robot.listening.recognizer import AsrEngine, Decode, Utterance  # noqa: E402
from caexpo_robot.sim.synthetic_audio import synthesize_speech  # noqa: E402

CHUNK = SAMPLE_RATE // 10   # 100 ms, as the microphone node publishes
ACTIVE_DBFS, BABBLE_DBFS, FLOOR_DBFS = -30.0, -50.0, -65.0
EN_QUESTION = 'Where can I find the meeting room for the coffee exhibitors?'
KO_QUESTION = '화장실은 어디에 있어요?'
GAP_S = 0.1   # added between the phrases, whose own faint tails make a pause of ~0.4 s to the VAD
OPENERS = ('zh', 'en')   # config/greeter.yaml interaction.opener_languages


@dataclass
class Question:
    name: str
    clean: np.ndarray   # float64, int16 scale
    speech_end_s: float   # from the audio (see the docstring)


@dataclass
class Run:
    eos_to_utterance: float
    eos_to_reply: float
    eos_to_audio: float
    text: str
    language: str
    probability: float | None
    engine: str
    reply: str
    counters: dict = field(default_factory=dict)
    decode_start: float = float('nan')   # the decode that gave the utterance: started after EoS, s
    decode_s: float = 0.0                # ...and its duration


def dbfs(x: float) -> float:
    return 32768.0 * 10 ** (x / 20.0)


def speech_end(x: np.ndarray) -> float:
    n = 320
    levels = 20 * np.log10(np.sqrt(np.mean(x[:x.size // n * n].reshape(-1, n) ** 2, axis=1)) + 1e-9)
    threshold = max(np.percentile(levels, 20) + 10.0, 20 * np.log10(bench_vad.active_rms(x)) - 30.0)
    return (int(np.nonzero(levels >= threshold)[0][-1]) + 1) * n / SAMPLE_RATE


def questions() -> list[Question]:
    rec = bench_vad.read_speech()
    (a0, a1), (b0, b1) = bench_vad.phrases_by_level(rec)[:2]
    pad = int(0.1 * SAMPLE_RATE)
    gap = rec[a1:a1 + int(GAP_S * SAMPLE_RATE)]   # the recording's own quiet
    en_rec = np.concatenate([rec[a0 - pad:a1], gap, rec[b0:b1 + pad]])
    en_tts = np.frombuffer(synthesize_speech(EN_QUESTION, 'en-us'), dtype='<i2').astype(np.float64)
    ko_tts = np.frombuffer(synthesize_speech(KO_QUESTION, 'ko'), dtype='<i2').astype(np.float64)
    # The recording's end of speech is its second phrase's offset by the whole recording's floor (as in
    # bench_vad.py): the clip alone is nearly all speech, its own 20th percentile is a speech level and put
    # the end ~0.3 s early, inside the last digit.
    rec_end = (a1 - (a0 - pad) + gap.size + b1 - b0) / SAMPLE_RATE
    out = []
    for name, x, end in (('en rec', en_rec, rec_end), ('en tts', en_tts, None), ('ko tts', ko_tts, None)):
        x = x * dbfs(ACTIVE_DBFS) / bench_vad.active_rms(x)
        out.append(Question(name, x, speech_end(x) if end is None else end))
    return out


class Answerer:
    """The reference assistant (in a thread) behind the robot's AssistantClient, and the tts pipeline."""

    def __init__(self, folder: Path) -> None:
        from caexpo_assistant import start_in_thread
        from caexpo_robot.backend import AssistantClient
        from caexpo_robot.language.phrasebook import Phrasebook
        from caexpo_robot.speaking.pipeline import SpeakingPipeline
        from caexpo_robot.speaking.players import ClockPlayer
        from caexpo_robot.speaking.synthesizer import create_synthesizer
        from caexpo_robot.speaking.voices import VoiceTable
        self.assistant = start_in_thread(db_url=f'sqlite:///{folder / "assistant.sqlite3"}')
        phrasebook = Phrasebook.load()
        self.client = AssistantClient(self.assistant.url, 'greeter-1', 'entrance_a',
                                      filler_text=lambda lang: phrasebook.say('one_moment', lang).text,
                                      canned_reply=lambda lang: 'canned',
                                      token=self.assistant.robot_token('greeter-1'))
        self.synthesized = threading.Semaphore(0)
        self.pipeline = SpeakingPipeline(VoiceTable.load(phrasebook=phrasebook), create_synthesizer('espeak-ng'),
                                         ClockPlayer(), on_synthesized=self.synthesized.release)
        self.visitors = 0
        for language in ('en', 'ko', 'zh'):   # warm: the e5 encoder, the voices
            self.answer('where is the toilet', language)

    def answer(self, text: str, language: str):
        """(reply time, first-audio time (perf_counter), the reply)."""
        from caexpo_robot.messages import SpeakRequest
        self.visitors += 1
        replied = threading.Event()
        box = []
        self.client.ask(f'bench-visitor-{self.visitors}', text, language,
                        lambda reply: (box.append((time.perf_counter(), reply)), replied.set()))
        replied.wait(10)
        reply_t, reply = box[0]
        now = time.monotonic()
        self.pipeline.say(SpeakRequest(text=reply.spoken or reply.text, language=language), now)
        self.synthesized.acquire()
        events = self.pipeline.advance(now)
        audio_t = time.perf_counter()
        assert any(getattr(e, 'type', '') == 'utterance_started' for e in events), events
        self.pipeline.advance(now + 3600.0)   # played out
        return reply_t, audio_t, reply

    def close(self) -> None:
        self.pipeline.close()
        self.client.close()
        self.assistant.stop()


STREAM = {'t': 0.0}   # the microphone's clock: goes on across runs


def listen_real_time(engine: AsrEngine, worker, woken: queue.SimpleQueue, audio: np.ndarray, eos_s: float,
                     timeout_s: float = 5.0) -> tuple[Utterance | None, float, float]:
    """Feed `audio` in 100 ms chunks at real-time pace on this thread (the node's executor); Decodes go to
    the DecodeWorker, whose results are completed here when it wakes us. (utterance, its perf_counter time,
    the perf_counter time of the end of speech)."""
    pcm = np.clip(np.round(audio), -32768, 32767).astype('<i2')
    chunks = [pcm[i:i + CHUNK].tobytes() for i in range(0, pcm.size - CHUNK + 1, CHUNK)]
    start = time.perf_counter()
    eos_t = start + eos_s
    t0 = STREAM['t']
    k = 0
    while k < len(chunks) and time.perf_counter() < eos_t + timeout_s:
        due = start + (k + 1) * CHUNK / SAMPLE_RATE   # its last sample is captured then
        try:
            woken.get(timeout=max(0.0, due - time.perf_counter()))
            results = worker.drain()
        except queue.Empty:
            results = engine.process(chunks[k], t=t0 + k * CHUNK / SAMPLE_RATE)
            k += 1
            STREAM['t'] = t0 + k * CHUNK / SAMPLE_RATE
        for result in results:
            if isinstance(result, Decode):
                worker.submit(result)
            elif isinstance(result, Utterance):
                return result, time.perf_counter(), eos_t
    return None, time.perf_counter(), eos_t


def pct(values, q):
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--lead', type=float, default=1.5, help='seconds of hall noise before each question')
    parser.add_argument('--only', help='run only the settings whose "engine question mode" contains this')
    parser.add_argument('--verbose', action='store_true', help='one line per run')
    parser.add_argument('--tail', type=float, default=3.0, help='seconds of hall noise fed after it at most')
    args = parser.parse_args()
    import tempfile

    from caexpo_robot.listening.decode_worker import DecodeWorker
    print(f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start')
    started = time.perf_counter()
    config = load_asr_config()
    engine = AsrEngine(config)
    print(f'AsrEngine (config/asr.yaml, Whisper warm-up included) ready in {time.perf_counter() - started:.1f} s: '
          f'Vosk {sorted(engine.recognizers)}, Whisper {len(engine.whisper_languages)} languages, '
          f'threads {config.whisper.cpu_threads}, beam {config.whisper.beam_size}, vad {config.vad.mode}, '
          f'pause decode {config.whisper.pause_decode_s} s, end silence {config.vad.end_silence_s} s')
    woken: queue.SimpleQueue = queue.SimpleQueue()
    worker = DecodeWorker(engine, lambda: woken.put(None))
    decodes: list[tuple[float, float, bool]] = []   # (perf_counter at start, seconds, final) of each decode run
    real_decode = engine.decode

    def timed_decode(request):
        started = time.perf_counter()
        result = real_decode(request)
        decodes.append((started, time.perf_counter() - started, request.final))
        return result
    engine.decode = timed_decode   # the worker calls engine.decode: timed, nothing else changes
    rng = np.random.default_rng(7)
    qs = {q.name: q for q in questions()}
    longest = max(q.clean.size for q in qs.values()) + int((args.lead + args.tail) * SAMPLE_RATE)
    hall = bench_vad.babble(longest, bench_vad.read_speech(), rng)
    hall = hall * dbfs(BABBLE_DBFS) / bench_vad.rms(hall) + bench_vad.pink(longest, rng) * dbfs(FLOOR_DBFS)
    settings = [('Whisper', 'en rec', 'detected'), ('Whisper', 'en rec', 'locked'),
                ('Whisper', 'en tts', 'detected'), ('Whisper', 'en tts', 'locked'),
                ('Vosk', 'ko tts', 'locked'), ('Vosk+Whisper', 'ko tts', 'detected')]
    settings = [s for s in settings if not args.only or args.only in ' '.join(s)]
    with tempfile.TemporaryDirectory(prefix='bench_answer_') as folder:
        answerer = Answerer(Path(folder))
        # The hall noise alone first: the noise floor settles, as on a robot that has been listening.
        listen_real_time(engine, worker, woken, hall[:int(3 * SAMPLE_RATE)], 10.0, timeout_s=0.0)
        table = []
        for engine_name, qname, mode in settings:
            q = qs[qname]
            language = qname.split()[0]
            runs: list[Run] = []
            misses = 0
            for r in range(args.runs):
                engine.new_visitor(language if mode == 'locked' else None, () if mode == 'locked' else OPENERS)
                offset = int(rng.integers(0, longest - q.clean.size - int((args.lead + args.tail) * SAMPLE_RATE) + 1))
                lead = int(args.lead * SAMPLE_RATE)
                audio = hall[offset:offset + lead + q.clean.size + int(args.tail * SAMPLE_RATE)].copy()
                audio[lead:lead + q.clean.size] += q.clean
                before = dict(engine.counters)
                decodes.clear()
                t0 = STREAM['t'] + args.lead
                utterance, heard_t, eos_t = listen_real_time(engine, worker, woken, audio, args.lead + q.speech_end_s)
                counters = {k: v - before.get(k, 0) for k, v in engine.counters.items()
                            if k.startswith(('decode', 'empty', 'untrusted')) and v - before.get(k, 0)}
                while worker.busy:   # a stale decode still running: let it finish before the next run
                    woken.get(timeout=10)
                    worker.drain()
                if utterance is None or not utterance.text:
                    misses += 1
                    what = (f'an empty utterance {utterance.start_t - t0:.2f}-{utterance.end_t - t0:.2f} s '
                            f'({utterance.language}, trusted={utterance.trusted})' if utterance else 'nothing')
                    print(f'  {engine_name} {qname} {mode} run {r}: {what} heard within {args.tail} s {counters}')
                    continue
                reply_t, audio_t, reply = answerer.answer(utterance.text, utterance.language)
                last = [d for d in decodes if d[0] <= heard_t]
                decode_start, decode_s = (last[-1][0] - eos_t, last[-1][1]) if last else (float('nan'), 0.0)
                if args.verbose:
                    print(f'    run {r}: utterance {utterance.start_t - t0:.2f}-{utterance.end_t - t0:.2f} s '
                          f'of the question (speech ends {q.speech_end_s:.2f}), heard '
                          f'{1000 * (heard_t - eos_t):.0f} ms after it, answered {1000 * (audio_t - eos_t):.0f} ms; '
                          f'{utterance.text!r} {counters}; decodes (start after EoS s, seconds): '
                          f'{[(round(d[0] - eos_t, 2), round(d[1], 2)) for d in decodes]}')
                runs.append(Run(heard_t - eos_t, reply_t - eos_t, audio_t - eos_t, utterance.text,
                                utterance.language, utterance.language_probability, utterance.engine,
                                reply.spoken or reply.text, counters, decode_start, decode_s))
            table.append((engine_name, qname, mode, q, runs, misses))
            if runs:
                last = runs[-1]
                heard = tally(f'{x.language}:{x.text}' for x in runs)
                print(f'  {engine_name} {qname} {mode}: heard {heard}; last reply said '
                      f'{last.reply[:70]!r}; decodes in last run {last.counters}')
        answerer.close()
    worker.close()
    print()
    print(f'{"engine":<13} {"question":<9} {"language":<9} {"speech s":>8} {"n":>3} '
          f'{"EoS->heard ms":>17} {"EoS->reply ms":>17} {"EoS->audio ms":>17}  goal {"decode@ s":>9}  lang (p)')
    print(f'{"":<13} {"":<9} {"":<9} {"":>8} {"":>3} {"median":>8} {"p90":>8} {"median":>8} {"p90":>8} '
          f'{"median":>8} {"p90":>8}')
    for engine_name, qname, mode, q, runs, misses in table:
        goal = '700' if engine_name == 'Vosk' else '1000'
        if not runs:
            print(f'{engine_name:<13} {qname:<9} {mode:<9} {q.speech_end_s:>8.2f} {0:>3}  nothing heard')
            continue
        cols = []
        for attr in ('eos_to_utterance', 'eos_to_reply', 'eos_to_audio'):
            ms = [getattr(x, attr) * 1000 for x in runs]
            cols += [statistics.median(ms), pct(ms, 90)]
        probs = [x.probability for x in runs if x.probability is not None]
        lang = tally(x.language for x in runs)
        prob = f' ({statistics.median(probs):.2f})' if probs else ''
        whisper_runs = [x for x in runs if x.decode_s]
        decode = (f'{statistics.median(x.decode_start for x in whisper_runs):+.2f}@'
                  f'{statistics.median(x.decode_s for x in whisper_runs):.2f}' if whisper_runs else '-')
        print(f'{engine_name:<13} {qname:<9} {mode:<9} {q.speech_end_s:>8.2f} {len(runs):>3} '
              + ' '.join(f'{c:>8.0f}' for c in cols) + f'  {goal:>5} {decode:>9}  {lang}{prob}'
              + (f'  ({misses} not heard within {args.tail:.0f} s)' if misses else ''))
    print('EoS = end of the question\'s speech, from the audio; heard = the Utterance out of the engine '
          '(decode included); reply = the assistant\'s reply in the client\'s callback; audio = the tts '
          'pipeline\'s utterance_started for its spoken form (espeak-ng synthesis done); decode@: the median '
          'start (s after EoS) @ duration (s) of the Whisper decode that gave the utterance.')


def tally(items) -> str:
    from collections import Counter
    return ', '.join(f'{k} x{v}' for k, v in Counter(items).most_common())


if __name__ == '__main__':
    main()
