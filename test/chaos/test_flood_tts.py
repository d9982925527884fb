"""Chaos: the REAL tts node (its console script, a process of its own) flooded on greeter/say at 50
requests/s for 40 s with varied text, languages, priorities and lengths (some longer than max_chars).

Asserts what a bad day at the expo needs: the process stays alive, its memory (RSS, psutil) grows by at
most 50 MB, and the requests it could not take are counted drops in /diagnostics. Before the bounded
pipeline the node grew 131 -> 1,444 MB with 1,265 items queued against queue_capacity 32.
"""
from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

import psutil
from diagnostic_msgs.msg import DiagnosticArray

from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import SpeakRequest, UtteranceTag
from ros_harness import ros_graph

REPO = Path(__file__).resolve().parents[2]
RATE_HZ, DURATION_S, MAX_GROWTH_MB = 50, 40.0, 50.0


def requests(seed: int = 9):
    """An endless varied stream: phrasebook sentences in every language, numbered, some very long."""
    pb, rng = Phrasebook.load(), random.Random(seed)
    sentences = [(lang, pb.say(key, lang, name='Lan', hall='5', time='10:00', n=3).text)
                 for lang in LANGUAGES for key in pb.keys()]
    n = 0
    while True:
        n += 1
        language, text = rng.choice(sentences)
        if n % 10 == 0:   # longer than max_chars: shortened for a visitor, refused otherwise
            text = ' '.join(t for lang, t in rng.sample(sentences, 40) if lang == language) or text * 30
            text = (text + ' ') * (1 + 900 // max(len(text), 1))
        tag = UtteranceTag(purpose=rng.choice(['answer', 'greeting', 'say']),
                           visitor=rng.choice([None, f'v{n % 7}']))
        yield SpeakRequest(text=f'{text} {n}'[:20_000], language=language, id=f'flood-{n}',
                           priority=rng.randint(0, 3), interrupt=rng.random() < 0.1, tag=tag)


def tts_status(arrays: list) -> dict:
    for array in reversed(arrays):
        for status in array.status:
            if status.name.endswith('/tts'):
                return {kv.key: kv.value for kv in status.values}
    return {}


def test_tts_memory_stays_bounded_under_a_50_per_second_flood(tmp_path):
    wav_dir = tmp_path / 'wav'
    proc = subprocess.Popen([str(REPO / '.venv' / 'bin' / 'tts'), '--ros-args', '-p', 'audio_output:=file',
                             '-p', f'wav_dir:={wav_dir}'], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with ros_graph() as g:
            diagnostics = g.listen('/diagnostics', DiagnosticArray, 10)
            pub = g.typed_publisher(SpeakRequest)
            g.wait_for_subscribers(pub, timeout=30)
            assert g.spin_until(lambda: tts_status(diagnostics), timeout=20), 'no diagnostics from tts'
            stream = requests()
            for _ in range(20):            # warm up: voices loaded, first WAVs written
                g.send(next(stream))
                g.spin_for(0.05)
            g.spin_for(3.0)
            rss_before = psutil.Process(proc.pid).memory_info().rss / 2**20
            start = time.monotonic()
            sent = 0
            while time.monotonic() - start < DURATION_S:
                g.send(next(stream))
                sent += 1
                target = start + sent / RATE_HZ
                while time.monotonic() < target:
                    g.executor.spin_once(timeout_sec=max(0.0, target - time.monotonic()))
            g.spin_for(2.5)                # the next diagnostics report
            rss_after = psutil.Process(proc.pid).memory_info().rss / 2**20
            status = tts_status(diagnostics)
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            growth = rss_after - rss_before
            print(f'\ntts flood: {sent} requests in {DURATION_S:.0f} s; RSS {rss_before:.0f} -> '
                  f'{rss_after:.0f} MB (+{growth:.1f}); queued {status.get("queued")}; '
                  f'dropped_request {status.get("dropped_request")}; WAVs {len(list(wav_dir.glob("*.wav")))}')
            assert growth <= MAX_GROWTH_MB
            assert int(status.get('queued', 10**6)) <= 32
            assert int(status.get('dropped_request', 0)) > 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
