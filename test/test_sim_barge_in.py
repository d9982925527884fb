"""Barge-in end to end: the simulated entrance (config/scenarios/barge_in.yaml), the robot's voice in its own
microphone through the echo path, the asr node's echo canceller and barge-in detector, the real dialogue."""
import json

import numpy as np
import pytest

from caexpo_robot.paths import config_path
from caexpo_robot.sim.runner import run_simulation, visitor_voice
from caexpo_robot.sim.scenario import load_scenario
from caexpo_robot.speaking.voices import VoiceTable

SCENARIO = config_path('scenarios', 'barge_in.yaml')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('barge_in')
    scenario = load_scenario(SCENARIO)
    run_simulation(scenario, out, log=lambda line: None)
    events = [json.loads(line) for line in (out / 'events.jsonl').read_text(encoding='utf-8').splitlines()]
    return scenario, events


def ann(scenario):
    return next(v for v in scenario.visitors if v.name == 'ann')


def voice_onset(scenario, k: int) -> float:
    """Sim time ann's k-th spoken input's voice begins: its `at` plus the synthesized audio's leading silence."""
    utterance = ann(scenario).says[k]
    samples = visitor_voice(utterance, ann(scenario).language, VoiceTable.load()).astype(np.float64)
    frames = samples[:samples.size // 320 * 320].reshape(-1, 320)
    level = 20 * np.log10(np.sqrt(np.mean(frames ** 2, axis=1)) / 32768.0 + 1e-12)
    return utterance.at + int(np.argmax(level > -45.0)) * 320 / 16000


def spoken(events, purpose, after: float = 17.0):
    """The robot's utterances of this purpose since ann came (bob was served before)."""
    return [e for e in events if e['topic'] == 'greeter/speech_events' and e.get('purpose') == purpose
            and e['t'] >= after]


def test_a_visitor_who_talks_over_the_answer_stops_it_within_300_ms_and_is_answered(run):
    scenario, events = run
    onset = voice_onset(scenario, 1)
    first = next(e for e in spoken(events, 'answer') if e['type'] == 'utterance_started')
    assert first['t'] < onset < first['t'] + first['duration_s']        # she speaks while it is playing
    [cancelled] = [e for e in events if e['topic'] == 'greeter/speech_events' and e['id'] == first['id']
                   and e['type'] == 'utterance_cancelled']
    assert 0 < cancelled['t'] - onset <= 0.300
    [barge] = [e for e in events if e['topic'] == 'greeter/events' and e['type'] == 'barge_in'
               and e['t'] > first['t']]
    assert barge['utterance'] == first['id'] and barge['t'] == cancelled['t']
    heard = [e for e in events if e['topic'] == 'greeter/heard' and e['start'] > first['t']]
    assert [(e['engine'], e['language'], e['text'].strip(' .?!').lower()) for e in heard] == [
        ('whisper', 'en', 'where are the toilets')]                       # her words, none of the robot's
    answers = [e for e in spoken(events, 'answer') if e['type'] == 'utterance_started']
    assert len(answers) == 2 and answers[1]['t'] > heard[0]['end'] and 'toilets' in answers[1]['text'].lower()


def test_a_visitor_who_speaks_during_the_greeting_stops_it_within_300_ms(run):
    scenario, events = run
    onset = voice_onset(scenario, 0)
    [hello] = [e for e in spoken(events, 'greeting') if e['type'] == 'utterance_started']
    assert hello['t'] < onset < hello['t'] + hello['duration_s']
    cancelled = [e for e in events if e['topic'] == 'greeter/speech_events' and e['id'] == hello['id']
                 and e['type'] == 'utterance_cancelled']
    assert cancelled and 0 < cancelled[0]['t'] - onset <= 0.300
    heard = [e for e in events if e['topic'] == 'greeter/heard']
    assert heard[0]['text'].strip(' .?!').lower() == 'where can i get food'
    answer = next(e for e in spoken(events, 'answer') if e['type'] == 'utterance_started')
    assert answer['t'] > heard[0]['end'] and 'food' in answer['text'].lower()   # and she is answered
