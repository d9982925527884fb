"""A long shift at the simulated entrance (config/scenarios/entrance_long.yaml): about four minutes in which
the robot talks most of the time, its voice in its own microphone through the echo path, the asr node
listening through the echo canceller in -55 dBFS hall noise. It must never transcribe itself, never stop
itself (no barge-in without a visitor's voice), and hear and answer every spoken question with the right
engine (Vosk for the Korean visitor who tapped 한국어, Whisper with spoken language ID for English)."""
import json

import pytest

from caexpo_robot.paths import config_path
from caexpo_robot.sim.runner import run_simulation
from caexpo_robot.sim.scenario import load_scenario
from sim_checks import assert_never_transcribed_itself, normalized, robot_voice, visitor_voices

SCENARIO = config_path('scenarios', 'entrance_long.yaml')
ENGINE = {'ko': 'vosk'}      # config/asr.yaml engines; every other language: whisper


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('long')
    scenario = load_scenario(SCENARIO)
    summary = run_simulation(scenario, out, log=lambda line: None)
    events = [json.loads(line) for line in (out / 'events.jsonl').read_text(encoding='utf-8').splitlines()]
    return scenario, summary, events


def interaction(events, kind=None, visitor=None):
    return [e for e in events if e['topic'] == 'greeter/events' and (kind is None or e['type'] == kind)
            and (visitor is None or e.get('scenario_visitor') == visitor)]


def speech(events, kind, visitor=None, purpose=None):
    return [e for e in events if e['topic'] == 'greeter/speech_events' and e['type'] == kind
            and (visitor is None or e.get('scenario_visitor') == visitor)
            and (purpose is None or e.get('purpose') == purpose)]


def test_the_long_run_completes_with_the_robot_talking_most_of_the_time(run):
    scenario, summary, events = run
    assert summary['sim_duration_s'] == scenario.duration_s >= 240
    assert max(e['t'] for e in events) > scenario.duration_s - 10      # the graph ran to the end
    assert set(summary['visitors']) == {plan.name for plan in scenario.visitors}
    for name, visitor in summary['visitors'].items():
        assert visitor['tracks'] and visitor['greetings'] == 1 and visitor['farewell'], (name, visitor)
    # The robot's voice was in its microphone for more than half of the run.
    voiced = sum(end - start for _, start, end in robot_voice(events))
    assert summary['utterances'] >= 30 and voiced > 0.5 * scenario.duration_s, (summary['utterances'], voiced)
    # Groups: somchai and mei greeted together; nam came with tom; siti arrived just after and waited her turn.
    groups = [sorted(e['group']) for e in interaction(events, 'greeting_started') if len(e['group']) > 1]
    tracks = {name: summary['visitors'][name]['tracks'][0] for name in ('somchai', 'mei', 'tom', 'nam')}
    assert groups == [sorted([tracks['somchai'], tracks['mei']]), sorted([tracks['tom'], tracks['nam']])]
    assert interaction(events, 'asked_to_wait', 'siti')
    # Typed and tapped questions: answered (at length) in the visitor's language.
    for name, language in [('lan', 'vi'), ('budi', 'id'), ('somchai', 'th'), ('mei', 'zh'), ('siti', 'ms'),
                           ('arif', 'ms')]:
        answers = summary['visitors'][name]['answers']
        assert [a['language'] for a in answers] == [language], (name, answers)
    assert summary['longest_answer_s'] >= 7.0


def test_the_robot_never_transcribes_its_own_voice(run):
    scenario, _, events = run
    assert_never_transcribed_itself(events, scenario)
    heard = [e for e in events if e['topic'] == 'greeter/heard']
    assert len(heard) == len(visitor_voices(scenario))      # one transcript per spoken question, nothing else
    taken = interaction(events, 'utterance_heard') + interaction(events, 'not_understood')
    typed = sum(1 for plan in scenario.visitors for u in plan.says
                if u.via == 'kiosk' or (u.via == 'tap' and u.text.startswith('quick_')))
    sources = sorted(e['source'] for e in taken)
    assert sources == ['kiosk'] * typed + ['speech'] * len(heard)


def test_no_barge_in_while_no_visitor_speaks(run):
    scenario, _, events = run
    voices = visitor_voices(scenario)
    # The scenario's visitors wait for the robot to finish: nobody talks over it...
    for name, _, start, end in voices:
        overlapping = [(key, s, e) for key, s, e in robot_voice(events) if s < end and start < e]
        assert not overlapping, (name, start, end, overlapping)
    # ...so nothing may stop it: a barge-in here could only be its own voice.
    barge_ins = [e for e in events if e['topic'] == 'greeter/barge_in']
    assert not [b for b in barge_ins if not any(s - 0.3 <= b['t'] <= e for _, _, s, e in voices)], barge_ins
    assert not barge_ins and not interaction(events, 'barge_in')
    # Nothing the robot said was cut but by a tap or typing on its screen, for a visitor who had just left,
    # or a goodbye by the next visitor's hello.
    touched = {round(u.at, 2) for plan in scenario.visitors for u in plan.says if u.via in ('kiosk', 'tap')}
    left = {(e['visitor'], e['t']) for e in interaction(events, 'visitor_left')}
    hellos = {e['t'] for e in speech(events, 'utterance_started', purpose='greeting')}
    for cut in speech(events, 'utterance_cancelled'):
        assert (round(cut['t'], 2) in touched or (cut['visitor'], cut['t']) in left
                or (cut['purpose'] == 'farewell' and cut['t'] in hellos)), cut


def test_every_spoken_question_is_heard_by_its_engine_and_answered(run):
    scenario, summary, events = run
    languages = {plan.name: plan.language for plan in scenario.visitors}
    heard = [e for e in events if e['topic'] == 'greeter/heard']
    assert len(visitor_voices(scenario)) == 7          # anna 2, jiwoo 2 (Korean), david 1, tom 2
    for name, utterance, start, end in visitor_voices(scenario):
        language = languages[name]
        [final] = [e for e in heard if start - 0.3 <= e['start'] <= end]
        assert (final['engine'], final['language'], final['trusted']) == (ENGINE.get(language, 'whisper'), language,
                                                                           True), final
        assert normalized(final['text']) == normalized(utterance.text), final
        [taken] = [e for e in interaction(events, 'utterance_heard', name) if e['t'] >= final['t'] - 0.05
                   and e['source'] == 'speech' and e['text'] == final['text']]
        assert taken['language'] == language
        answer = next(e for e in interaction(events, 'answer_started', name) if e['t'] >= taken['t'])
        assert answer['language'] == language and answer['t'] - end <= 2.0, (final, answer)
    # The Korean visitor's language came from her tap (then only Vosk listened); the English ones were found
    # in their voice by Whisper.
    assert [e['source'] for e in interaction(events, 'language_identified', 'jiwoo')] == ['tap']
    for name in ('anna', 'david', 'tom'):
        assert [(e['language'], e['source']) for e in interaction(events, 'language_identified', name)] == [
            ('en', 'speech')]
        assert 0 < max(summary['visitors'][name]['speech_to_answer_ms']) <= 1000      # the Whisper goal


def test_the_silent_visitor_is_prompted_then_told_goodbye(run):
    _, _, events = run
    [listening] = interaction(events, 'listening_started', 'maria')
    [prompt] = speech(events, 'utterance_started', 'maria', 'prompt')
    [farewell] = speech(events, 'utterance_started', 'maria', 'farewell')
    [left] = interaction(events, 'visitor_left', 'maria')
    assert 7.5 <= prompt['t'] - listening['t'] <= 8.5                 # listen_timeout_s: 8
    assert 7.5 <= farewell['t'] - (prompt['t'] + prompt['duration_s']) <= 8.5
    assert farewell['t'] + farewell['duration_s'] <= left['t']        # said while she was still there
    assert not interaction(events, 'utterance_heard', 'maria') and not interaction(events, 'answer_started', 'maria')


@pytest.mark.parametrize('name,next_name', [('lan', 'budi'), ('david', 'tom')])
def test_a_visitor_who_leaves_mid_answer_gets_a_farewell_cut_by_the_next_hello(run, name, next_name):
    _, _, events = run
    [answer] = speech(events, 'utterance_started', name, 'answer')
    [left] = interaction(events, 'visitor_left', name)
    assert answer['t'] < left['t'] < answer['t'] + answer['duration_s']
    [cut] = [e for e in speech(events, 'utterance_cancelled', name) if e['id'] == answer['id']]
    assert cut['t'] == left['t']
    [farewell] = speech(events, 'utterance_started', name, 'farewell')
    assert farewell['t'] == left['t']
    hello = next(e for e in speech(events, 'utterance_started', next_name, 'greeting'))
    assert farewell['t'] < hello['t'] < farewell['t'] + farewell['duration_s']
    [interrupted] = [e for e in speech(events, 'utterance_cancelled', name) if e['id'] == farewell['id']]
    assert interrupted['t'] == hello['t'] and interrupted['reason'] == 'interrupted'
