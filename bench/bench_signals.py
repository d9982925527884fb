"""Clean exits at random moments: 20 SIGINT + 20 SIGTERM per node executable (prints a table; not a test).

Each trial starts the real executable (as test/test_node_signals.py does: the face detector with a
camera process feeding it frames, the tts node with say requests), sends the signal at a seeded random
moment 0.2-3 s after start (uniform within 40 equal slices, SIGINT and SIGTERM alternating), and
counts exit code 0 and tracebacks in everything it printed.

Run: .venv/bin/python bench/bench_signals.py [--trials 40] [--seed 8] [node ...]   (about 10 minutes)
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
os.environ.setdefault('ROS_DOMAIN_ID', str(150 + os.getpid() % 50))
os.environ.setdefault('ROS_LOG_DIR', str(REPO / 'build' / 'ros_log'))
sys.path[:0] = [str(REPO), str(REPO / 'test')]

from test_node_signals import NODES, SEED, Trial, planned_moments, signal_trial  # noqa: E402

FACES = REPO.parent / 'shared' / 'data' / 'faces'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('nodes', nargs='*', help=f'default: every node ({" ".join(NODES)})')
    parser.add_argument('--trials', type=int, default=40, help='per node, SIGINT and SIGTERM alternating')
    parser.add_argument('--seed', type=int, default=SEED)
    args = parser.parse_args(argv)
    if set(args.nodes) - set(NODES):
        parser.error(f'unknown node(s): {" ".join(sorted(set(args.nodes) - set(NODES)))}')
    if not FACES.is_dir():
        print(f'camera images not found at {FACES}')
        return 1
    rows: dict[tuple[str, str], collections.Counter] = {}
    failures = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for node in args.nodes or NODES:
            for sig, delay_s in planned_moments(node, args.trials, args.seed):
                try:
                    trial = signal_trial(node, sig, delay_s, Path(tmp) / node, FACES)
                except OSError as exc:   # e.g. the executable missing while the venv is being reinstalled
                    trial = Trial(node, sig, delay_s, None, f'could not run the trial: {exc}')
                row = rows.setdefault((node, sig.name), collections.Counter())
                row['trials'] += 1
                row['exit0'] += trial.returncode == 0
                row['tracebacks'] += trial.tracebacks
                print(f'  {trial.describe()}{"" if trial.clean else "  <-- not clean"}', flush=True)
                if not trial.clean:
                    failures.append(trial)
    print(f'\nseed {args.seed}, moments 0.2-3 s after start, {time.monotonic() - started:.0f} s in all\n')
    print(f'{"node":<14} {"signal":<8} {"trials":>6} {"exit 0":>7} {"tracebacks":>11}')
    for (node, sig_name), row in rows.items():
        print(f'{node:<14} {sig_name:<8} {row["trials"]:>6} {row["exit0"]:>7} {row["tracebacks"]:>11}')
    for trial in failures:
        print(f'\n--- {trial.describe()} ---\n{trial.output[-3000:]}')
    return 1 if failures else 0


if __name__ == '__main__':
    raise SystemExit(main())
