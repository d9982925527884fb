"""Whisper base (int8, faster-whisper) figures: real-time factor and peak memory for 2, 3, 5 and 10 s
utterances, with the language given or detected among the robot's 11 languages, beam 1 vs 5.

    .venv/bin/python bench/bench_whisper.py [--threads 2] [--repeats 3]

Audio: the recorded English digits (../shared/data/speech/en_digits_test.wav, 8.3 s), cut or
repeated to each length. Each (beam, detection) setting runs in its own process so its peak RSS
(ru_maxrss: model + decoding) is its own; lengths run shortest first, so the peak after a length is
that length's. RTF = decoding time / audio time (median of the repeats, after a warm-up decode).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path

LENGTHS_S = (2.0, 3.0, 5.0, 10.0)
RECORDING = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data' / 'speech' / 'en_digits_test.wav'


def utterance(pcm: bytes, rate: int, seconds: float) -> bytes:
    need = int(seconds * rate) * 2
    return (pcm * (need // len(pcm) + 1))[:need]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def one_setting(beam: int, detect: bool, threads: int, repeats: int) -> dict:
    from caexpo_robot.listening.whisper import WhisperRecognizer
    with wave.open(str(RECORDING), 'rb') as reader:
        rate, pcm = reader.getframerate(), reader.readframes(reader.getnframes())
    started = time.perf_counter()
    recognizer = WhisperRecognizer(cpu_threads=threads, beam_size=beam)
    recognizer._model()
    load_s = time.perf_counter() - started
    load_rss = peak_rss_mb()
    started = time.perf_counter()
    recognizer.transcribe(utterance(pcm, rate, 2.0), rate, language=None if detect else 'en')
    first_s = time.perf_counter() - started
    rows = []
    for seconds in LENGTHS_S:
        audio = utterance(pcm, rate, seconds)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            hypothesis = recognizer.transcribe(audio, rate, language=None if detect else 'en')
            times.append(time.perf_counter() - started)
        rows.append({'seconds': seconds, 'median_s': statistics.median(times), 'min_s': min(times),
                     'peak_rss_mb': peak_rss_mb(), 'text': hypothesis.text, 'language': hypothesis.language,
                     'language_probability': hypothesis.language_probability})
    full = recognizer.transcribe(pcm, rate, language=None if detect else 'en')
    return {'beam': beam, 'detect': detect, 'load_s': load_s, 'load_rss_mb': load_rss, 'first_decode_s': first_s,
            'rows': rows, 'full_text': full.text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--one', help=argparse.SUPPRESS)  # 'beam,detect': run one setting, print JSON
    args = parser.parse_args()
    if args.one:
        beam, detect = args.one.split(',')
        print(json.dumps(one_setting(int(beam), detect == '1', args.threads, args.repeats)))
        return
    if not RECORDING.is_file():
        print(f'recording not found: {RECORDING}')
        return
    from caexpo_robot.listening.models import assemble_whisper_model
    model = assemble_whisper_model()  # no-op when `make setup` assembled it
    print(f'Whisper base int8, {args.threads} threads, {model}; {os.cpu_count()} CPUs, '
          f'load average {os.getloadavg()[0]:.2f} at start (other work on the machine slows these figures)')
    print(f'{"beam":>4} {"lang":>8} {"len s":>6} {"decode s":>9} {"min s":>7} {"RTF":>6} {"peak RSS MB":>12}  text')
    results = []
    for beam in (1, 5):
        for detect in (False, True):
            out = subprocess.run([sys.executable, __file__, '--one', f'{beam},{int(detect)}', '--threads',
                                  str(args.threads), '--repeats', str(args.repeats)],
                                 capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(result)
            mode = 'detected' if detect else 'given'
            for row in result['rows']:
                rtf = row['median_s'] / row['seconds']
                lang = f'{row["language"]} {row["language_probability"]:.2f}' if detect else ''
                print(f'{beam:>4} {mode:>8} {row["seconds"]:>6.1f} {row["median_s"]:>9.2f} {row["min_s"]:>7.2f} '
                      f'{rtf:>6.2f} {row["peak_rss_mb"]:>12.0f}  {row["text"][:40]!r} {lang}')
    print()
    for result in results:
        mode = 'detected' if result['detect'] else 'given'
        print(f'beam {result["beam"]} language {mode:>8}: load {result["load_s"]:.2f} s '
              f'(peak RSS {result["load_rss_mb"]:.0f} MB), first decode of 2 s {result["first_decode_s"]:.2f} s; '
              f'whole recording heard as {result["full_text"]!r}')
    print('spoken: "one zero zero zero one, nine oh two one oh, zero one eight zero three" (10001 90210 01803)')


if __name__ == '__main__':
    main()
