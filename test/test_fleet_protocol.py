"""The fleet wire format without Zenoh: signing, every refusal reason, replay and boots, keys, bodies."""
from __future__ import annotations

import base64
import json
import os
import uuid

import pytest

from caexpo_robot.fleet import protocol as fp

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
KEYS = {'greeter-a': KEY_A, 'greeter-b': KEY_B}
NOW = 1_796_000_000.0


def heartbeat(**state):
    return fp.Heartbeat(state=fp.RobotState(greeting_paused=False, **state))


def say(text='Xin chào', **extra):
    return {'command_id': uuid.uuid4().hex, 'operator': 'lan', 'text': text, **extra}


def fields(**over):
    base = {'robot_id': 'greeter-a', 'sender': 'robot', 'boot': '0123456789abcdef', 'seq': 1, 'sent_at': NOW,
            'kind': 'heartbeat', 'body': heartbeat()}
    return {**base, **over}


def reason(raw, keys=KEYS, sender='robot', state=None, now=NOW, **kw):
    with pytest.raises(fp.FleetError) as info:
        fp.verify(raw, keys, sender, state or fp.ReplayState(), now, **kw)
    return info.value.reason


def resign(wire: dict, key: bytes) -> bytes:
    """An envelope re-signed after editing: what a holder of `key` could send."""
    wire = {name: value for name, value in wire.items() if name != 'sig'}
    wire['sig'] = fp._mac(key, wire)
    return fp.canonical_json(wire)


def test_signed_envelope_verifies_and_keeps_its_typed_body():
    env = fp.sign(fields(body=heartbeat(watchers=['lan'], visitor_language='th', screen='answer')), KEY_A)
    got = fp.verify(env.encode(), KEYS, 'robot', fp.ReplayState(), NOW + 1)
    assert got == env
    assert isinstance(got.body, fp.Heartbeat)
    assert got.body.state.visitor_language == 'th' and got.body.state.watchers == ['lan']
    assert got.key_expr == 'caexpo/robots/greeter-a/events'


def test_wire_is_canonical_json_and_text_stays_readable():
    env = fp.sign(fields(kind='utterance', body={'side': 'visitor', 'text': 'สวัสดีครับ', 'final': True,
                                               'language': 'th'}), KEY_A)
    raw = env.encode()
    assert 'สวัสดีครับ'.encode() in raw
    wire = json.loads(raw)
    assert list(wire) == sorted(wire)
    assert raw == fp.canonical_json(wire)
    assert wire['sig'] == fp._mac(KEY_A, wire)     # over everything but the signature


def test_every_byte_of_the_body_is_covered():
    raw = fp.sign(fields(kind='utterance', body={'side': 'visitor', 'text': 'hello', 'final': True}), KEY_A).encode()
    tampered = raw.replace(b'hello', b'hellO')
    assert reason(tampered) == 'bad_signature'
    wire = json.loads(raw)
    wire['body']['final'] = False
    assert reason(fp.canonical_json(wire)) == 'bad_signature'


def test_another_robots_key_does_not_sign_for_this_robot():
    raw = fp.sign(fields(), KEY_B).encode()          # says greeter-a, signed with greeter-b's key
    assert reason(raw) == 'bad_signature'


def test_unknown_robot_is_refused_before_anything_else():
    raw = fp.sign(fields(robot_id='greeter-z'), KEY_A).encode()
    assert reason(raw) == 'unknown_robot'
    assert reason(raw, keys={'greeter-z': KEY_B}) == 'bad_signature'


def test_a_robots_own_event_is_not_a_command():
    raw = fp.sign(fields(), KEY_A).encode()
    assert reason(raw, sender='console') == 'wrong_sender'


def test_sender_is_signed_so_it_cannot_be_swapped():
    wire = json.loads(fp.sign(fields(), KEY_A).encode())
    wire['sender'] = 'console'
    assert reason(fp.canonical_json(wire), sender='console') == 'bad_signature'


def test_commands_outside_the_allow_list_are_refused_even_when_signed():
    assert set(fp.COMMAND_KINDS) == {'say', 'stop_speech', 'pause_greeting', 'resume_greeting', 'take_over',
                                     'hand_back', 'acknowledge_alert', 'watch'}
    good = json.loads(fp.sign(fields(sender='console', kind='say', body=say()), KEY_A).encode())
    for kind in ('reboot', 'heartbeat', 'ack', ''):     # events are not commands either
        assert reason(resign({**good, 'kind': kind}, KEY_A), sender='console') == 'unknown_kind'
    with pytest.raises(fp.FleetError) as info:
        fp.sign(fields(sender='console', kind='shell', body={}), KEY_A)
    assert info.value.reason == 'unknown_kind'


def test_signed_but_malformed_bodies_are_refused():
    good = json.loads(fp.sign(fields(sender='console', kind='say', body=say()), KEY_A).encode())
    bad_bodies = [
        {**good['body'], 'text': ''},                     # nothing to say
        {**good['body'], 'text': '   '},
        {**good['body'], 'text': 'x' * 501},              # over MAX_SAY_CHARS
        {**good['body'], 'language': 'fr'},               # not one of the eleven
        {**good['body'], 'command_id': 'not-a-uuid'},
        {**good['body'], 'shell': 'rm -rf /'},            # extra fields forbidden
        {**good['body'], 'operator': ''},
    ]
    for body in bad_bodies:
        assert reason(resign({**good, 'body': body}, KEY_A), sender='console') == 'malformed', body
    for edit in ({'v': 2}, {'seq': 0}, {'seq': '3'}, {'boot': 'XYZ'}, {'sent_at': 'now'}, {'extra': 1}):
        assert reason(resign({**good, **edit}, KEY_A), sender='console') == 'malformed', edit


def test_garbage_is_malformed_and_never_raises_anything_else():
    for raw in (b'', b'\xff\xfe', b'null', b'[]', b'{"robot_id": 5}', b'{"robot_id": "greeter-a"}',
                b'{"robot_id": "greeter-a", "sig": 1}', b'[' * 5000, b'{"robot_id":"greeter-a","x":NaN,"sig":""}',
                b'{"robot_id": "../etc"}'):
        assert reason(raw) == 'malformed', raw


def test_oversize_is_refused_before_parsing():
    assert reason(b' ' * (fp.MAX_ENVELOPE_BYTES + 1)) == 'too_large'
    # the body caps keep real text under the envelope cap (20 questions of 2000 Khmer characters fit) ...
    fp.sign(fields(kind='conversation_ended', body={'conversation': 'c1', 'started_at': NOW, 'ended_at': NOW,
                                                   'unanswered': ['ខ្ញុំ' * 400] * 20}), KEY_A)
    # ... control characters escape to six bytes each: the sender is told before anything is put
    with pytest.raises(fp.FleetError) as info:
        fp.sign(fields(kind='conversation_ended', body={
            'conversation': 'c1', 'started_at': NOW, 'ended_at': NOW,
            'unanswered': ['\x01' * 2000] * 20, 'intents': ['\x01' * 64] * 200}), KEY_A)
    assert info.value.reason == 'too_large'


def test_replay_is_refused_and_a_new_boot_starts_again():
    state = fp.ReplayState()
    first = fp.sign(fields(seq=5), KEY_A).encode()
    fp.verify(first, KEYS, 'robot', state, NOW)
    assert reason(first, state=state) == 'replay'
    assert reason(fp.sign(fields(seq=4), KEY_A).encode(), state=state) == 'replay'
    fp.verify(fp.sign(fields(seq=6), KEY_A).encode(), KEYS, 'robot', state, NOW)
    restarted = fp.sign(fields(seq=1, boot='fedcba9876543210'), KEY_A).encode()      # the robot restarted
    fp.verify(restarted, KEYS, 'robot', state, NOW)
    # the other direction and the other robot keep their own sequences
    watch = {'command_id': uuid.uuid4().hex, 'operator': 'lan', 'watching': True}
    fp.verify(fp.sign(fields(seq=1, sender='console', kind='watch', body=watch), KEY_A).encode(),
              KEYS, 'console', state, NOW)
    fp.verify(fp.sign(fields(seq=1, robot_id='greeter-b'), KEY_B).encode(), KEYS, 'robot', state, NOW)


def test_a_refused_envelope_does_not_advance_the_sequence():
    state = fp.ReplayState()
    late = fp.sign(fields(seq=9, sent_at=NOW - 100), KEY_A).encode()
    assert reason(late, state=state) == 'clock_skew'
    fp.verify(fp.sign(fields(seq=2), KEY_A).encode(), KEYS, 'robot', state, NOW)


def test_clock_skew_both_ways_and_configurable():
    assert reason(fp.sign(fields(sent_at=NOW - 31), KEY_A).encode()) == 'clock_skew'
    assert reason(fp.sign(fields(sent_at=NOW + 31), KEY_A).encode()) == 'clock_skew'
    fp.verify(fp.sign(fields(sent_at=NOW + 29), KEY_A).encode(), KEYS, 'robot', fp.ReplayState(), NOW)
    assert reason(fp.sign(fields(sent_at=NOW + 5), KEY_A).encode(), max_skew_s=2.0) == 'clock_skew'


def test_envelope_on_another_robots_key_is_wrong_robot():
    raw = fp.sign(fields(robot_id='greeter-b'), KEY_B).encode()
    assert reason(raw, robot_id='greeter-a') == 'wrong_robot'


def test_old_boots_are_forgotten_once_outside_the_skew_window():
    state = fp.ReplayState()
    for i in range(70):
        env = fp.sign(fields(boot=f'{i:016x}', sent_at=NOW + i), KEY_A)
        state.accept(env, NOW + i, 30.0)
    assert len(state) < 40          # boots older than 30 s were pruned as new ones came
    old = fp.sign(fields(boot=f'{0:016x}', seq=1, sent_at=NOW), KEY_A).encode()
    assert reason(old, state=state, now=NOW + 69) == 'clock_skew'     # and cannot come back


def test_thumbnail_is_a_capped_jpeg():
    jpeg = b'\xff\xd8\xff\xe0' + bytes(1000)
    thumb = fp.Thumbnail.of(jpeg, 320, 240, faces_blurred=2, stamp=NOW)
    env = fp.sign(fields(kind='thumbnail', body=thumb), KEY_A)
    assert fp.verify(env.encode(), KEYS, 'robot', fp.ReplayState(), NOW).body.jpeg() == jpeg
    for data in (b'\x89PNG' + bytes(100), b'\xff\xd8\xff' + bytes(fp.MAX_THUMBNAIL_JPEG_BYTES)):
        with pytest.raises(fp.FleetError) as info:
            fp.sign(fields(kind='thumbnail', body={'jpeg_b64': base64.b64encode(data).decode(), 'width': 1,
                                                   'height': 1, 'faces_blurred': 0, 'stamp': NOW}), KEY_A)
        assert info.value.reason == 'malformed'


def test_every_kind_has_a_strict_closed_model():
    assert set(fp.EVENT_KINDS) == {'heartbeat', 'utterance', 'reply', 'alert', 'alert_cleared',
                                   'conversation_ended', 'counters', 'thumbnail', 'ack'}
    for model in [*fp.EVENT_KINDS.values(), *fp.COMMAND_KINDS.values()]:
        assert model.model_config['extra'] == 'forbid' and model.model_config['strict']
    with pytest.raises(fp.FleetError):       # strict: "false" is not a boolean
        fp.sign(fields(kind='ack', body={'command_id': uuid.uuid4().hex, 'ok': 'false'}), KEY_A)
    too_many = [{'name': f'n{i}', 'level': 0, 'message': ''} for i in range(33)]
    with pytest.raises(fp.FleetError):
        fp.sign(fields(body={'state': {'greeting_paused': False, 'diagnostics': too_many}}), KEY_A)


def test_key_expressions():
    assert fp.events_key('greeter-a') == 'caexpo/robots/greeter-a/events'
    assert fp.commands_key('greeter-a') == 'caexpo/robots/greeter-a/commands'
    assert fp.EVENTS_WILDCARD == 'caexpo/robots/*/events'
    assert fp.robot_id_of_key('caexpo/robots/greeter-a/events') == 'greeter-a'
    assert fp.robot_id_of_key('caexpo/robots/a/b/events') is None
    for bad in ('Greeter', '', '-a', 'a/b', 'a*', 'x' * 64, '**'):
        with pytest.raises(fp.FleetError):
            fp.events_key(bad)


def test_keys_are_hex_of_at_least_32_bytes(tmp_path):
    hex_key = os.urandom(32).hex()
    assert fp.load_keys({'greeter-a': hex_key}) == {'greeter-a': bytes.fromhex(hex_key)}
    for bad in ('00' * 31, 'not hex', '', 'a' * 63):
        with pytest.raises(ValueError):
            fp.load_keys({'greeter-a': bad})
    with pytest.raises(ValueError):
        fp.load_keys({'Greeter A': hex_key})
    path = tmp_path / 'fleet_keys.json'
    path.write_text(json.dumps({'greeter-a': hex_key, 'greeter-b': os.urandom(40).hex()}))
    path.chmod(0o644)
    with pytest.raises(ValueError, match='chmod 600'):
        fp.load_keys(path)
    path.chmod(0o600)
    assert set(fp.load_keys(path)) == {'greeter-a', 'greeter-b'}
    path.write_text('["greeter-a"]')
    with pytest.raises(ValueError, match='JSON object'):
        fp.load_keys(str(path))
    with pytest.raises(ValueError) as info:
        fp.load_keys({'greeter-a': hex_key[:-2]})
    assert hex_key[:20] not in str(info.value)        # errors never echo a key
    with pytest.raises(ValueError):
        fp.sign(fields(), b'short')


def test_signer_numbers_envelopes_in_order():
    signer = fp.Signer('console', KEYS)
    first = signer.sign('greeter-a', 'stop_speech', {'command_id': uuid.uuid4().hex, 'operator': 'lan'}, NOW)
    second = signer.sign('greeter-b', 'take_over', {'command_id': uuid.uuid4().hex, 'operator': 'lan'}, NOW)
    assert (first.seq, second.seq) == (1, 2) and first.boot == second.boot
    assert fp.Signer('console', KEYS).boot != first.boot
    with pytest.raises(fp.FleetError) as info:
        signer.sign('greeter-z', 'stop_speech', {}, NOW)
    assert info.value.reason == 'unknown_robot'
