"""tts node with real rclpy topics and real espeak-ng synthesis to WAV files."""
import wave
from functools import partial

import numpy as np
import pytest
from rclpy.parameter import Parameter
from scipy.signal import resample_poly
from std_msgs.msg import Bool, MultiArrayDimension, String, UInt8MultiArray

from caexpo_robot.messages import CancelSpeech, ScreenText, SpeakRequest, SpeechEvent, decode, encode
from caexpo_robot.nodes.audio_msgs import (
    PLAYBACK_QOS,
    PLAYBACK_TOPIC,
    audio_from_msg,
    audio_msg,
    playback_from_msg,
    playback_msg,
)
from caexpo_robot.nodes.common import LATCHED
from caexpo_robot.nodes.tts_node import TtsNode
from ros_harness import ros_graph


def say(pub, text, language, **extra):
    pub.publish(String(data=encode(SpeakRequest(text=text, language=language, **extra))))


def speech_events(received):
    return [decode(SpeechEvent, m.data) for m in received]


def test_speaks_in_order_reports_events_and_refuses_bad_requests(tmp_path):
    factory = partial(TtsNode, parameter_overrides=[
        Parameter('audio_output', value='file'), Parameter('wav_dir', value=str(tmp_path)),
        Parameter('engine', value='espeak-ng')])
    with ros_graph(factory) as g:
        tts_events = g.listen(SpeechEvent.TOPIC)
        speaking = g.listen('tts/speaking', Bool, LATCHED)   # the initial False is latched
        screen = g.listen(ScreenText.TOPIC)
        pub = g.publisher(SpeakRequest.TOPIC)
        g.wait_for_subscribers(pub)
        node = g.nodes[0]
        g.wait_until_heard(node.advertise(SpeechEvent), node.speaking_pub, node.advertise(ScreenText))

        def of_type(kind):
            return [e for e in speech_events(tts_events) if e.type == kind]

        # Bad requests: each is refused with a reason, and the node keeps going. What is not a
        # SpeakRequest at all (not JSON, a language the robot does not know) is a counted drop at
        # decoding; a well-formed request the robot will not say gets an event with the reason.
        pub.publish(String(data='{not json'))
        say(pub, '   ', 'en', id='empty')
        say(pub, 'x' * 10_000, 'en', id='huge')   # under the message's own cap, over max_chars
        pub.publish(String(data='{"text": "bonjour", "language": "fr", "id": "french"}'))
        assert g.spin_until(lambda: node.counters['dropped_SpeakRequest'] == 2)
        assert 'language' in node.health.last_problem
        assert g.spin_until(lambda: len(of_type('utterance_dropped')) == 2)
        reasons = {e.id: e.reason for e in of_type('utterance_dropped')}
        assert reasons['empty'] == 'empty text'
        assert 'max_chars' in reasons['huge']
        assert 'french' not in reasons
        assert node.counters['dropped_request'] == 2

        say(pub, 'Welcome to the China ASEAN Expo.', 'en', id='first', tag={'purpose': 'greeting'})
        say(pub, 'Xin chào quý khách.', 'vi', id='second')
        say(pub, 'សូមស្វាគមន៍', 'km', id='khmer')
        assert g.spin_until(lambda: len(of_type('utterance_finished')) == 3, timeout=20)
        assert [e.id for e in of_type('utterance_started')] == ['first', 'second', 'khmer']
        first = of_type('utterance_finished')[0]
        assert first.tag.purpose == 'greeting'
        with wave.open(first.wav) as wav:
            assert abs(wav.getnframes() / wav.getframerate() - first.duration_s) < 0.01
            assert first.duration_s > 1.0
        khmer = [e for e in of_type('utterance_started') if e.id == 'khmer'][0]
        assert khmer.fallback == 'screen_only' and khmer.spoken_language != 'km'
        assert [decode(ScreenText, m.data).text for m in screen] == ['សូមស្វាគមន៍']
        assert [m.data for m in speaking][0] is False and any(m.data for m in speaking)
        assert g.spin_until(lambda: speaking[-1].data is False)


def test_cancel_and_interrupt(tmp_path):
    factory = partial(TtsNode, parameter_overrides=[
        Parameter('audio_output', value='file'), Parameter('wav_dir', value=str(tmp_path))])
    with ros_graph(factory) as g:
        tts_events = g.listen(SpeechEvent.TOPIC)
        pub = g.publisher(SpeakRequest.TOPIC)
        cancel = g.publisher(CancelSpeech.TOPIC)
        g.wait_for_subscribers(pub)
        g.wait_for_subscribers(cancel)
        g.wait_until_heard(g.nodes[0].advertise(SpeechEvent))
        long_text = 'This is a long announcement about the opening ceremony and the forums. ' * 3
        say(pub, long_text, 'en', id='long', priority=1)
        say(pub, long_text, 'en', id='queued', priority=1)

        def ids(kind):
            return [e.id for e in speech_events(tts_events) if e.type == kind]
        assert g.spin_until(lambda: 'long' in ids('utterance_started'), timeout=10)
        cancel.publish(String(data=encode(CancelSpeech(id='queued'))))
        say(pub, 'Excuse me!', 'en', id='urgent', priority=3, interrupt=True)
        assert g.spin_until(lambda: 'queued' in ids('utterance_cancelled'), timeout=5)
        assert g.spin_until(lambda: 'urgent' in ids('utterance_finished'), timeout=15)
        assert 'long' in ids('utterance_cancelled')
        assert 'queued' not in ids('utterance_started')


def test_a_visitors_answer_over_max_chars_is_said_shortened_and_shown_in_full(tmp_path):
    """Before: refused (utterance_dropped, max_chars) and the visitor heard nothing (9 of 11 languages'
    events answers were 870-1,121 characters)."""
    factory = partial(TtsNode, parameter_overrides=[
        Parameter('audio_output', value='file'), Parameter('wav_dir', value=str(tmp_path)),
        Parameter('max_chars', value=120)])
    with ros_graph(factory) as g:
        tts_events = g.listen(SpeechEvent.TOPIC)
        screen = g.listen(ScreenText.TOPIC)
        pub = g.publisher(SpeakRequest.TOPIC)
        g.wait_for_subscribers(pub)
        node = g.nodes[0]
        g.wait_until_heard(node.advertise(SpeechEvent), node.advertise(ScreenText))
        text = ' '.join(f'Sự kiện số {n} bắt đầu lúc {n + 8} giờ tại hội trường {n}.' for n in range(1, 9))
        say(pub, text, 'vi', id='events', tag={'purpose': 'answer', 'visitor': 'v1'})
        assert g.spin_until(lambda: any(e.type == 'utterance_started' for e in speech_events(tts_events)))
        started = [e for e in speech_events(tts_events) if e.type == 'utterance_started'][0]
        assert started.detail.startswith('shortened') and started.text.endswith('.')
        assert len(started.text) <= 120 and text.startswith(started.text)
        assert [decode(ScreenText, m.data).text for m in screen] == [text]
        assert node.counters['dropped_request'] == 0


def test_the_playback_reference_is_the_utterances_wav_at_16_khz_from_its_start_time(tmp_path):
    """What the echo canceller subtracts: the audio the tts node plays, on tts/playback, stamped with the
    utterance_started time on the node clock."""
    factory = partial(TtsNode, parameter_overrides=[
        Parameter('audio_output', value='file'), Parameter('wav_dir', value=str(tmp_path))])
    with ros_graph(factory) as g:
        tts_events = g.listen(SpeechEvent.TOPIC)
        playback = g.listen(PLAYBACK_TOPIC, UInt8MultiArray, PLAYBACK_QOS)
        pub = g.publisher(SpeakRequest.TOPIC)
        g.wait_for_subscribers(pub)
        node = g.nodes[0]
        g.wait_until_heard(node.advertise(SpeechEvent), node.playback_pub)
        say(pub, 'Welcome to the China ASEAN Expo.', 'en', id='hello')
        assert g.spin_until(lambda: playback and any(e.type == 'utterance_started' for e in speech_events(tts_events)))
        [started] = [e for e in speech_events(tts_events) if e.type == 'utterance_started']
        assert len(playback) == 1
        pcm, t, utterance_id = playback_from_msg(playback[0])
        assert (utterance_id, t) == ('hello', pytest.approx(started.t, abs=1e-4))
        with wave.open(started.wav) as wav:
            rate = wav.getframerate()
            played = np.frombuffer(wav.readframes(wav.getnframes()), dtype='<i2')
        assert rate == 22050   # espeak-ng's rate: the reference really is resampled
        expected = np.clip(np.round(resample_poly(played.astype(float), 320, 441)), -32768, 32767).astype('<i2')
        assert np.array_equal(np.frombuffer(pcm, dtype='<i2'), expected)
        assert len(expected) / 16000 == pytest.approx(started.duration_s, abs=0.001)


def test_playback_messages_round_trip_and_bad_layouts_are_refused():
    pcm = np.arange(-800, 800, dtype='<i2').tobytes()
    assert playback_from_msg(playback_msg(pcm, 12.345678901, 'u7')) == (pcm, pytest.approx(12.345678901, abs=1e-9),
                                                                         'u7')
    assert playback_from_msg(playback_msg(b'', 0.0, 'a_b-c'))[2] == 'a_b-c'
    with pytest.raises(ValueError, match='odd'):
        playback_msg(b'\x00', 1.0, 'u')
    with pytest.raises(ValueError, match='time'):
        playback_msg(pcm, -1.0, 'u')
    with pytest.raises(ValueError, match='id'):
        playback_msg(pcm, 1.0, '')
    with pytest.raises(ValueError, match='dimension'):   # a plain chunk is not a reference ...
        playback_from_msg(audio_msg(pcm))
    with pytest.raises(ValueError, match='dimension'):   # ... nor a reference a chunk
        audio_from_msg(playback_msg(pcm, 1.0, 'u'))

    def broken(**change):
        msg = playback_msg(pcm, 1.0, 'u')
        for index, fields in change.items():
            dim = msg.layout.dim[int(index[1:])]
            for name, value in fields.items():
                setattr(dim, name, value)
        return msg
    for change, problem in [({'d0': {'label': 's16le_mono_22050hz'}}, '16000'),
                            ({'d0': {'size': 3}}, 'samples'),
                            ({'d1': {'label': 'played_from_1.5'}}, 'played_from'),
                            ({'d1': {'label': 'played_at_100'}}, 'played_from'),
                            ({'d2': {'label': 'utterance_'}}, 'utterance'),
                            ({'d2': {'label': 'id_u'}}, 'utterance')]:
        with pytest.raises(ValueError, match=problem):
            playback_from_msg(broken(**change))
    odd = playback_msg(pcm, 1.0, 'u')
    odd.data = pcm + b'\x00'
    with pytest.raises(ValueError, match='bytes'):
        playback_from_msg(odd)
    extra = playback_msg(pcm, 1.0, 'u')
    extra.layout.dim.append(MultiArrayDimension(label='x', size=1, stride=1))
    with pytest.raises(ValueError, match='3 dimensions'):
        playback_from_msg(extra)
