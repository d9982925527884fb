"""Echo cancelling and barge-in: ERLE over time, detection latency, false triggers, CPU (prints figures).

Scenarios as in test/test_listening_echo.py: the robot's greeting in espeak-ng voices (its real voice
engine) through a simulated echo path (delay, gain, a 40 ms decaying tail, a gentle low-pass), -60 dBFS
noise, and the recorded English visitor (../shared/data/speech/en_digits_test.wav) talking over it.
espeak is the robot's own voice here, so it is the right far end; the visitor is a real recording.

Run: .venv/bin/python bench/bench_echo.py   (about a minute on 2 cores)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / 'test')]

from caexpo_robot.listening.audio import SAMPLE_RATE  # noqa: E402
from caexpo_robot.listening.echo import BargeInDetector, SpeexEchoCanceller  # noqa: E402
from test_listening_echo import (  # noqa: E402
    ROBOT_LINES,
    correlation_after_onset,
    erle_db,
    make_scenario,
    run_scenario,
)

DELAYS = (0.03, 0.06, 0.12)
GAINS = (0.3, 0.6)
SNRS = (-10.0, -5.0, 0.0, 5.0)
VISITOR_STARTS = (3.0, 6.0, 8.0)


def convergence() -> None:
    print('ERLE over time (dB, mic energy / output energy per 1 s window; mean over voices x delays, gain 0.3)')
    rows = []
    for voice in ROBOT_LINES:
        for delay in DELAYS:
            scenario = make_scenario(voice, delay_s=delay)
            run = run_scenario(scenario, stop_at_first=False)
            rows.append([erle_db(scenario.mic, run.out, k, k + 1) for k in range(10)])
    table = np.array(rows)
    print('  second   ' + ' '.join(f'{k:>5}' for k in range(10)))
    print('  mean     ' + ' '.join(f'{v:5.1f}' for v in table.mean(axis=0)))
    print('  min      ' + ' '.join(f'{v:5.1f}' for v in table.min(axis=0)))
    for label, options in (('without residual suppression', dict(residual_suppression=False)),
                           ('filter 150 ms', dict(filter_ms=150)), ('10 ms frames', dict(frame_ms=10))):
        values = []
        for voice in ROBOT_LINES:
            scenario = make_scenario(voice, delay_s=0.06)
            values.append(erle_db(scenario.mic, run_scenario(scenario, stop_at_first=False, **options).out, 3.0))
        print(f'  ERLE after 3 s, {label}: mean {np.mean(values):.1f} dB, min {np.min(values):.1f} dB')


def false_triggers() -> None:
    events, seconds, runs = [], 0.0, 0
    for voice in ROBOT_LINES:
        for delay in DELAYS:
            for gain in GAINS:
                scenario = make_scenario(voice, delay_s=delay, gain=gain)
                run = run_scenario(scenario, stop_at_first=False)
                seconds += scenario.mic.size / SAMPLE_RATE
                runs += 1
                events += [(voice, delay, gain, round(e.onset_t, 2)) for e in run.events]
    print(f'False barge-ins on echo alone: {len(events)} over {runs} runs, {seconds:.0f} s of robot speech '
          f'({len(ROBOT_LINES)} voices x delays {DELAYS} x gains {GAINS}) {events or ""}')


def detection() -> None:
    print('Barge-in latency (fire time - visitor onset, s) by visitor level relative to the echo and start time')
    for start in VISITOR_STARTS:
        for snr in SNRS:
            latencies, correlations = [], []
            for delay in DELAYS:
                scenario = make_scenario('en-us', delay_s=delay, visitor_at_s=start, visitor_to_echo_db=snr)
                run = run_scenario(scenario, stop_at_first=False)
                early = [e for e in run.events if e.onset_t < scenario.visitor_onset_s - 0.1]
                later = [e for e in run.events if e.onset_t >= scenario.visitor_onset_s - 0.1]
                latencies.append(later[0].fired_t - scenario.visitor_onset_s if later else float('nan'))
                correlations.append(correlation_after_onset(scenario, run.out))
                if early:
                    print(f'    (!) fired before the visitor at {[round(e.onset_t, 2) for e in early]}')
            lat = np.array(latencies)
            print(f'  visitor from {start + 0.9:4.1f} s, {snr:+5.1f} dB: latency min {np.nanmin(lat):.2f} '
                  f'median {np.nanmedian(lat):.2f} max {np.nanmax(lat):.2f}, missed {int(np.isnan(lat).sum())}, '
                  f'<= 0.30 s: {int((lat <= 0.3).sum())}/{lat.size}; visitor correlation '
                  f'{min(correlations):.2f}-{max(correlations):.2f}')


def cpu() -> None:
    scenario = make_scenario('en-us', delay_s=0.06)
    seconds = scenario.mic.size / SAMPLE_RATE
    with SpeexEchoCanceller() as canceller:
        n = canceller.frame_samples
        frames = [(scenario.mic[i:i + n].tobytes(), scenario.far[i:i + n].tobytes())
                  for i in range(0, scenario.mic.size - n + 1, n)]
        start = time.process_time()
        for mic, far in frames:
            canceller.process(mic, far)
        alone = time.process_time() - start
    start = time.process_time()
    run_scenario(scenario, detector=BargeInDetector(), stop_at_first=False)
    chain = time.process_time() - start
    print(f'CPU per second of audio: canceller {1000 * alone / seconds:.1f} ms '
          f'({100 * alone / seconds:.2f} % of a core); listener chain (far-end buffer, canceller, detector, '
          f'100 ms chunks) {1000 * chain / seconds:.1f} ms ({100 * chain / seconds:.2f} %)')


def main() -> int:
    convergence()
    false_triggers()
    detection()
    cpu()
    return 0


if __name__ == '__main__':
    sys.exit(main())
