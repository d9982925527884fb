"""The simulated microphone's echo path: the robot's voice reaches its microphone delayed, attenuated and
with a short room response, deterministically, is cut when the speaker stops (the room rings out), and a
real speexdsp echo canceller fed the tts node's 16 kHz reference removes it."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from caexpo_robot.listening.audio import SAMPLE_RATE, resample_int16
from caexpo_robot.listening.echo import FarEndBuffer, SpeexEchoCanceller, level_dbfs
from caexpo_robot.sim.microphone import EchoPath, SimulatedMicrophone
from caexpo_robot.sim.runner import ROBOT_ECHO
from caexpo_robot.speaking.synthesizer import Audio, EspeakCliSynthesizer

CHUNK_S = 0.1     # what the simulator publishes
GREETING = 'Welcome to the China ASEAN Expo. I can help you find exhibitors, events and the nearest toilet.'


@lru_cache(maxsize=1)
def robot_voice() -> Audio:
    """The robot's greeting as the tts node synthesizes it (espeak-ng, 22,050 Hz)."""
    return EspeakCliSynthesizer().synthesize(GREETING, 'en-us', 160)


def record(mic: SimulatedMicrophone, start_s: float, end_s: float) -> np.ndarray:
    n = int(round((end_s - start_s) / CHUNK_S))
    return np.concatenate([np.frombuffer(mic.chunk(start_s + i * CHUNK_S, CHUNK_S), dtype='<i2')
                           for i in range(n)])


def quiet_mic(echo: EchoPath) -> SimulatedMicrophone:
    return SimulatedMicrophone(noise_dbfs=-120.0, echo=echo)   # noise far below one LSB


@pytest.mark.parametrize('delay_s', [0.025, 0.06])
def test_the_echo_arrives_delayed_by_delay_s_and_attenuated_by_gain(delay_s):
    voice = resample_int16(robot_voice().samples, robot_voice().sample_rate)
    mic = quiet_mic(EchoPath(delay_s=delay_s, gain=0.3, reverb_s=0.15, seed=3))
    mic.play(1.0, voice, key='u1')
    heard = record(mic, 0.0, 1.0 + voice.size / SAMPLE_RATE + 0.3).astype(np.float64)
    start = SAMPLE_RATE
    delay = int(round(delay_s * SAMPLE_RATE))
    assert not heard[:start + delay].any()                         # nothing before the sound gets there
    assert np.abs(heard[start + delay:start + delay + 800]).max() > 100
    window = heard[start:start + voice.size + 4800]
    lags = [int(np.dot(window[lag:lag + voice.size], voice)) for lag in range(0, 2400)]
    assert int(np.argmax(lags)) == delay                           # the direct sound is the strongest
    loss = level_dbfs(voice) - level_dbfs(heard[start:start + voice.size + delay + 2400])
    assert loss == pytest.approx(-20 * np.log10(0.3), abs=1.5)     # ~10.5 dB quieter


def test_the_echo_path_is_deterministic_for_its_seed_and_rings_about_reverb_s():
    path = EchoPath(delay_s=0.025, gain=0.3, reverb_s=0.15, seed=3)
    response = path.impulse_response
    assert np.array_equal(response, EchoPath(delay_s=0.025, gain=0.3, reverb_s=0.15, seed=3).impulse_response)
    assert not np.array_equal(response, EchoPath(delay_s=0.025, gain=0.3, reverb_s=0.15, seed=4).impulse_response)
    assert response.size == 400 + 2400 + 1 and np.linalg.norm(response) == pytest.approx(0.3)
    assert not response[:400].any() and np.argmax(np.abs(response)) == 400
    energy = np.cumsum(response[::-1] ** 2)[::-1]                   # what is left from each sample on
    assert energy[400 + 1600] / energy[400] < 1e-3                  # -30 dB 100 ms after the direct sound
    voice = resample_int16(robot_voice().samples, robot_voice().sample_rate)
    first, second = quiet_mic(path), quiet_mic(path)
    for mic in (first, second):
        mic.play(0.5, voice, key='u1')
    assert np.array_equal(record(first, 0.0, 2.0), record(second, 0.0, 2.0))
    with pytest.raises(ValueError, match='gain'):
        EchoPath(gain=0.0)


def test_a_stopped_utterance_stops_at_the_speaker_and_the_room_rings_out():
    loud = np.random.default_rng(0).normal(0, 8000, SAMPLE_RATE * 3).astype(np.int16)
    path = EchoPath(delay_s=0.025, gain=0.5, reverb_s=0.15, seed=3)
    mic = quiet_mic(path)
    mic.play(1.0, loud, key='u1')
    mic.play(1.0, loud, key='u2')
    assert np.abs(record(mic, 1.5, 1.6)).mean() > 3000              # both
    mic.stop('u1', 2.0)                                               # cancelled one second in
    alone = quiet_mic(path)
    alone.play(1.0, loud, key='u2')
    cut = quiet_mic(path)
    cut.play(1.0, loud[:SAMPLE_RATE], key='u1')
    heard = record(mic, 1.6, 3.0)
    u1 = record(cut, 1.6, 3.0)
    expected = record(alone, 1.6, 3.0).astype(np.int32) + u1
    assert np.abs(heard - expected).max() <= 2                        # exactly u2 + u1's first second
    ring = u1[4 * 1600:6 * 1600]                                       # u1 alone, 2.0-2.2 s
    assert np.abs(ring[:400]).mean() > 1000                          # still arriving: played before 2.0
    assert np.abs(ring[400:800]).mean() > 10                         # the room's tail
    assert not ring[400 + 2400 + 1:].any()                           # then silence


def test_a_real_echo_canceller_fed_the_tts_reference_removes_at_least_20_db_of_it():
    """The whole echo loop of the simulator: the tts node's reference (listening.audio.resample_int16, published on
    tts/playback with the play time) in a FarEndBuffer; the microphone's 100 ms chunks through
    speexdsp. Measured: see the printed figures (-s)."""
    audio = robot_voice()
    reference = resample_int16(audio.samples, audio.sample_rate)   # also what the simulator's speaker plays
    pause = np.zeros(SAMPLE_RATE // 2, dtype=np.int16)
    voice = np.concatenate([reference, pause, reference])            # two sentences' worth, ~12 s
    play_at = 1.0
    mic = SimulatedMicrophone(echo=ROBOT_ECHO)                       # the simulator's: -60 dBFS hall noise
    mic.play(play_at, voice, key='u1')
    far_end = FarEndBuffer()
    assert far_end.push(voice.tobytes(), play_at)
    end = play_at + voice.size / SAMPLE_RATE + 0.3
    raw, out = [], []
    with SpeexEchoCanceller() as canceller:
        for i in range(int(round(end / CHUNK_S))):
            t = i * CHUNK_S
            chunk = mic.chunk(t, CHUNK_S)
            raw.append(np.frombuffer(chunk, dtype='<i2'))
            far = far_end.take(t, len(chunk) // 2)
            out.append(np.frombuffer(canceller.process_block(chunk, far), dtype='<i2'))
        lag = canceller.latency_samples
    raw, out = np.concatenate(raw), np.concatenate(out)[lag:]
    lo, hi = int((play_at + 3.0) * SAMPLE_RATE), int((end - 0.3) * SAMPLE_RATE)
    reduction = level_dbfs(raw[lo:hi]) - level_dbfs(out[lo:hi])
    early = level_dbfs(raw[SAMPLE_RATE:lo]) - level_dbfs(out[SAMPLE_RATE:lo])
    print(f'echo {level_dbfs(raw[lo:hi]):.1f} dBFS; reduction {early:.1f} dB in the first 3 s, '
          f'{reduction:.1f} dB after')
    assert reduction >= 20.0
