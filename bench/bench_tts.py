"""TTS and language-ID figures: latency per call, memory growth over many calls, failures; the speaking
pipeline's own cost per utterance and its request-to-sound latency with espeak-ng on its worker thread.

Usage: python bench/bench_tts.py [--calls 1000]
Prints figures only; nothing here is asserted (tests assert behaviour, not speed).
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np
import psutil

from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.langid import identify
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import SpeakRequest
from caexpo_robot.speaking.pipeline import SpeakingPipeline
from caexpo_robot.speaking.players import ClockPlayer
from caexpo_robot.speaking.synthesizer import Audio, SynthesisError, create_synthesizer
from caexpo_robot.speaking.voices import VoiceTable


def bench_backend(backend: str, table: VoiceTable, phrases: list[tuple[str, str]], calls: int) -> None:
    synth = create_synthesizer(backend)
    process = psutil.Process()
    latencies, failures, audio_s = [], 0, 0.0
    rss_start = None
    for i in range(calls):
        code, text = phrases[i % len(phrases)]
        plan = table.plan(text, code)
        t0 = time.perf_counter()
        try:
            audio = synth.synthesize(plan.spoken_text, plan.voice, plan.rate_wpm)
            audio_s += audio.duration_s
        except SynthesisError:
            failures += 1
        latencies.append(time.perf_counter() - t0)
        if i == min(50, calls - 1):
            rss_start = process.memory_info().rss   # after warm-up (voices loaded)
    rss_end = process.memory_info().rss
    latencies.sort()
    print(f'{backend:10s} calls={calls} failures={failures} '
          f'median={1000 * statistics.median(latencies):.1f} ms '
          f'p95={1000 * latencies[int(0.95 * len(latencies))]:.1f} ms '
          f'max={1000 * latencies[-1]:.1f} ms real-time factor={sum(latencies) / audio_s:.3f} '
          f'RSS growth after warm-up={(rss_end - rss_start) / 2**20:.1f} MiB')


class InstantSynth:
    """Audio without synthesis: what is left is the pipeline's own work (plan, queues, events)."""
    name = 'instant'
    audio = Audio(np.zeros(16_000, dtype=np.int16), 16_000)

    def synthesize(self, text, voice, rate_wpm=150):
        return self.audio

    def voices(self):
        return frozenset()


def bench_pipeline(table: VoiceTable, phrases: list[tuple[str, str]], calls: int) -> None:
    """Pipeline cost per utterance (say, synthesize, start, finish) without synthesis, and the latency
    from say() to utterance_started with espeak-ng on the worker thread (what a visitor waits)."""
    pipeline = SpeakingPipeline(table, InstantSynth(), ClockPlayer(), synthesis_thread=False)
    requests = [SpeakRequest(text=text, language=code) for code, text in phrases]
    t, started = 0.0, 0
    t0 = time.perf_counter()
    for i in range(calls):
        pipeline.say(requests[i % len(requests)], t)
        pipeline.synthesize_next()
        started += sum(getattr(e, 'type', '') == 'utterance_started' for e in pipeline.advance(t))
        t += 10.0
        pipeline.advance(t)
    per_call = (time.perf_counter() - t0) / calls
    print(f'pipeline   calls={calls} started={started} core cost={1e6 * per_call:.0f} us per utterance '
          f'(say, plan, queues, start, finish; no synthesis)')
    ready = threading.Semaphore(0)
    pipeline = SpeakingPipeline(table, create_synthesizer('espeak-ng'), ClockPlayer(), on_synthesized=ready.release)
    latencies, t, started = [], 0.0, 0
    try:
        for i in range(min(calls, 200)):
            t0 = time.perf_counter()
            pipeline.say(requests[i % len(requests)], t)
            ready.acquire()
            out = pipeline.advance(t)
            latencies.append(time.perf_counter() - t0)
            started += sum(getattr(e, 'type', '') == 'utterance_started' for e in out)
            t += 60.0
            pipeline.advance(t)
    finally:
        pipeline.close()
    latencies.sort()
    print(f'pipeline   espeak-ng on the worker: say -> utterance_started median='
          f'{1000 * statistics.median(latencies):.1f} ms p95={1000 * latencies[int(0.95 * len(latencies))]:.1f} ms '
          f'max={1000 * latencies[-1]:.1f} ms over {len(latencies)} utterances ({started} started)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--calls', type=int, default=1000)
    args = parser.parse_args()
    pb = Phrasebook.load()
    table = VoiceTable.load(phrasebook=pb)
    short_keys = ['opener', 'one_moment', 'listening_prompt', 'please_wait', 'farewell']
    phrases = [(code, pb.say(key, code).text) for key in short_keys for code in LANGUAGES]
    for backend in ('pyttsx3', 'espeak-ng'):
        bench_backend(backend, table, phrases, args.calls)
    bench_pipeline(table, phrases, args.calls)
    texts = [pb.say(key, code, name='An', hall='5', time='10').text for code in LANGUAGES for key in pb.keys()]
    t0 = time.perf_counter()
    for text in texts:
        identify(text)
    print(f'langid: {1000 * (time.perf_counter() - t0) / len(texts):.2f} ms per phrase over {len(texts)} phrases')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
