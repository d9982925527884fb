"""TTS and language-ID figures: latency per call, memory growth over many calls, failures.

Usage: python bench/bench_tts.py [--calls 1000]
Prints figures only; nothing here is asserted (tests assert behaviour, not speed).
"""
from __future__ import annotations

import argparse
import statistics
import time

import psutil

from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.langid import identify
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.speaking.synthesizer import SynthesisError, create_synthesizer
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
          f'median={1000 * statistics.median(latencies):.1f} ms p95={1000 * latencies[int(0.95 * len(latencies))]:.1f} ms '
          f'max={1000 * latencies[-1]:.1f} ms real-time factor={sum(latencies) / audio_s:.3f} '
          f'RSS growth after warm-up={(rss_end - rss_start) / 2**20:.1f} MiB')


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
    texts = [pb.say(key, code, name='An', hall='5', time='10').text for code in LANGUAGES for key in pb.keys()]
    t0 = time.perf_counter()
    for text in texts:
        identify(text)
    print(f'langid: {1000 * (time.perf_counter() - t0) / len(texts):.2f} ms per phrase over {len(texts)} phrases')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
