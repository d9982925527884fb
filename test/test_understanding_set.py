"""The understanding test set: questions written as visitors talk, in all eleven languages.

Per language at least 90 % of the items must be answered right (80 % for my, km and lo, whose
exemplars and questions still await a native reviewer); bench/bench_understanding.py prints the table
the README quotes. A failing language prints every item it got wrong, with the answer it gave.
"""
from __future__ import annotations

import pytest

from caexpo_robot.language.languages import LANGUAGES
from understanding_set import MINIMUM, SetRunner, accuracy, load_set


@pytest.fixture(scope='module')
def runner():
    running = SetRunner()
    yield running
    running.close()


def test_the_set_is_large_and_has_flows_in_at_least_five_languages():
    sets = {language: load_set(language) for language in LANGUAGES}
    assert sum(len(s.cases) + len(s.flows) for s in sets.values()) >= 300
    assert all(len(s.cases) >= 25 for s in sets.values()), {k: len(s.cases) for k, s in sets.items()}
    booking = [k for k, s in sets.items()
               if any({'meeting_booked', 'meeting_cancelled'} <= {t.intent for t in f.turns} for f in s.flows)]
    assert len(booking) >= 5, booking


@pytest.mark.parametrize('language', LANGUAGES)
def test_language_accuracy(runner, language):
    outcomes = runner.run(language)
    wrong = [o for o in outcomes if not o.passed]
    report = '\n'.join(f'- {o.item}: {"; ".join(o.problems)}\n  answer: {o.transcript[-1][1]["reply"][:160]}'
                       for o in wrong)
    assert accuracy(outcomes) >= MINIMUM[language], f'{language}: {len(wrong)} of {len(outcomes)} wrong\n{report}'
