"""Figures for understanding visitors (prints; asserts nothing; test_understanding_set.py holds the bar).

1. Per-language accuracy on the test set (test/data/understanding), as the README table.
2. The cost of one turn in one thread (normalise, slots, one e5 query, exemplar and exhibitor
   similarities, the reply): every distinct question of the set once, so no vector comes from the cache.
3. Start-up: a fresh process importing the assistant and building its Understanding (model, exemplar
   vectors from the shipped cache, exhibitor passages).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'test'))
os.environ.setdefault('OMP_NUM_THREADS', '1')

from caexpo_robot.language.languages import LANGUAGES  # noqa: E402
from understanding_set import MINIMUM, SetRunner, accuracy, load_set  # noqa: E402


def main() -> int:
    runner = SetRunner()
    try:
        print('| language | items | right | accuracy | bar |')
        print('|---|---|---|---|---|')
        total = right = 0
        for language in LANGUAGES:
            outcomes = runner.run(language)
            ok = sum(o.passed for o in outcomes)
            total, right = total + len(outcomes), right + ok
            print(f'| {language} | {len(outcomes)} | {ok} | {accuracy(outcomes):.1%} | {MINIMUM[language]:.0%} |')
        print(f'| all | {total} | {right} | {right / total:.1%} | |')

        questions = [(language, case.q) for language in LANGUAGES for case in load_set(language).cases]
        from caexpo_assistant import turns
        costs = []
        for language, q in questions:
            turns.understanding().router.encoder.forget()
            session = runner.session(language)
            started = time.perf_counter()
            runner.turn(session, q, language)
            costs.append((time.perf_counter() - started) * 1000)
        costs.sort()
        print(f'\none turn in one thread, {len(costs)} distinct questions: mean {statistics.mean(costs):.1f} ms, '
              f'p50 {costs[len(costs) // 2]:.1f} ms, p99 {costs[int(len(costs) * 0.99)]:.1f} ms')
    finally:
        runner.close()

    code = ('import time; t = time.perf_counter(); from caexpo_assistant import turns; '
            'turns.understanding(); print(f"{time.perf_counter() - t:.2f}")')
    took = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    print(f'start-up of understanding in a fresh process (imports, model, exemplar vectors): {took} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
