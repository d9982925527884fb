"""Checks shared by the simulated-entrance tests (test_sim_entrance.py, test_sim_long.py): what the visitors'
voices and the robot's voice were in the microphone, and that the robot never transcribed itself."""
from __future__ import annotations


def visitor_voices(scenario) -> list[tuple[str, object, float, float]]:
    """(visitor name, spoken input, start, end of the voice) of every spoken input of the scenario, in sim s."""
    from caexpo_robot.sim.runner import visitor_voice, voiced_duration
    from caexpo_robot.speaking.voices import VoiceTable
    voices = VoiceTable.load()
    return [(plan.name, u, u.at, u.at + voiced_duration(visitor_voice(u, plan.language, voices)))
            for plan in scenario.visitors for u in plan.says if u.via == 'speech']


def robot_voice(events) -> list[tuple[str, float, float]]:
    """(utterance id, start, end) of everything the robot said, cut where an utterance was cancelled."""
    spans = {}
    for event in events:
        if event['topic'] != 'greeter/speech_events':
            continue
        if event['type'] == 'utterance_started':
            spans[event['id']] = (event['t'], event['t'] + event['duration_s'])
        elif event['type'] == 'utterance_cancelled' and event['id'] in spans:
            start, end = spans[event['id']]
            spans[event['id']] = (start, max(start, min(end, event['t'])))
    return [(key, start, end) for key, (start, end) in spans.items()]


def normalized(text: str) -> str:
    return text.strip(' .?!').lower()


def assert_never_transcribed_itself(events, scenario):
    """Every final transcript of the asr node began while a visitor's voice was in the microphone, and
    none is (part of) something the robot said."""
    spans = [(start, end) for _, _, start, end in visitor_voices(scenario)]
    said = {normalized(e['text']) for e in events
            if e['topic'] == 'greeter/speech_events' and e['type'] == 'utterance_started'}
    for heard in (e for e in events if e['topic'] == 'greeter/heard'):
        assert any(start - 0.3 <= heard['start'] <= end for start, end in spans), heard
        text = normalized(heard['text'])
        assert not text or not any(text in robot for robot in said), heard
