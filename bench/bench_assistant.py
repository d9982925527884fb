"""Figures for the assistant backend and the robot's client (prints; asserts nothing).

1. Turn latency with 50 concurrent simulated robots on loopback against `caexpo-assistant serve`
   (SQLite, separate process), each with its own token: paced (each robot asks once per second, a busy
   expo hour) under the default rate limits (none may be throttled), and saturated (every robot asks
   again as soon as it has its answer) against a server with the limits off (capacity), then against
   the default limits (how many are throttled: 429).
2. The client's own overhead per turn: AssistantClient (ask -> callback) minus a plain blocking
   httpx call for the same turns; ask() enqueue time; an open-breaker turn.
Bounded: about 1,600 turns, under a minute on 2 cores.
"""
from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from caexpo_assistant.auth import new_token  # noqa: E402
from caexpo_robot.backend import AssistantClient  # noqa: E402
from caexpo_robot.language.languages import LANGUAGES  # noqa: E402

ROBOTS = 50
# The expo's everyday mix: a few questions asked again and again (the server keeps the e5 vectors of the
# last 4,096 sentences, so a repeated question skips the model) ...
QUESTIONS = [('en', 'Where is the AI zone?'), ('vi', 'Tôi muốn tìm nhà cung cấp sầu riêng'),
             ('zh', '今天有什么活动？'), ('th', 'มีไวไฟไหม'), ('ko', '두리안 업체를 찾고 있어요'),
             ('ms', 'Di mana surau?'), ('id', 'Saya mencari kopi luwak'), ('en', 'green energy companies'),
             ('km', 'ខ្ញុំស្វែងរកអង្ករកម្ពុជា'), ('lo', 'ຊອກຫາບໍລິສັດກາເຟ')]
# ... and the worst case: every question of the understanding test set (test/data/understanding), about
# 470 in 11 languages, each asked at most once in the paced run, so every turn that needs the model pays it.
DISTINCT = [(language, case['q']) for language in LANGUAGES for case in yaml.safe_load(
    (ROOT / 'test' / 'data' / 'understanding' / f'{language}.yaml').read_text(encoding='utf-8'))['cases']]


TOKENS = {name: new_token() for name in [f'bench-{i}' for i in range(ROBOTS)] + ['bench-direct', 'bench-client']}


def auth(robot: str) -> dict:
    return {'Authorization': f'Bearer {TOKENS[robot]}'}


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def line(name, seconds):
    ms = [s * 1000 for s in seconds]
    return (f'{name:<56} n={len(ms):4d}  p50={pct(ms, 50):6.2f} ms  p99={pct(ms, 99):6.2f} ms  '
            f'max={max(ms):6.2f} ms')


def start_server(db: Path, limits: bool = True) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    config = []
    if not limits:
        config_file = db.with_suffix('.yaml')
        config_file.write_text('rate_limits: null\n')
        config = ['--config', str(config_file)]
    env = {**os.environ, 'CAEXPO_ASSISTANT_ROBOT_TOKENS': ','.join(f'{k}:{v}' for k, v in TOKENS.items())}
    process = subprocess.Popen([sys.executable, '-m', 'caexpo_assistant.cli', *config, 'serve', '--port', str(port),
                                '--db', f'sqlite:///{db}', '--today', '2025-09-17'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f'http://127.0.0.1:{port}'
    started = time.perf_counter()
    for _ in range(400):
        try:
            if httpx.get(url + '/v1/health', headers=auth('bench-direct'), timeout=0.5).status_code == 200:
                print(f'server start-up (process start -> /v1/health 200, model and vectors loaded): '
                      f'{time.perf_counter() - started:.2f} s')
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit('server did not start')


async def robot(url: str, index: int, turns: int, period_s: float, latencies: list, errors: list,
                questions: list):
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=auth(f'bench-{index}')) as client:
        language = QUESTIONS[index % len(QUESTIONS)][0]
        session = (await client.post('/v1/sessions', json={'robot_id': f'bench-{index}', 'language': language,
                                                           'entrance': 'entrance_a'})).json()['session_id']
        await asyncio.sleep(period_s * index / ROBOTS)  # spread the robots' phases
        for turn in range(turns):
            language, text = questions[(index * turns + turn) % len(questions)]
            started = time.perf_counter()
            response = await client.post(f'/v1/sessions/{session}/turns', json={'text': text, 'language': language})
            elapsed = time.perf_counter() - started
            if response.status_code == 200:
                latencies.append(elapsed)
            else:
                errors.append(response.status_code)
            if period_s:
                await asyncio.sleep(max(0.0, period_s - elapsed))


def fleet(url: str, turns: int, period_s: float, questions: list = QUESTIONS):
    latencies, errors = [], []

    async def main():
        await asyncio.gather(*(robot(url, i, turns, period_s, latencies, errors, questions) for i in range(ROBOTS)))
    started = time.perf_counter()
    asyncio.run(main())
    return latencies, errors, time.perf_counter() - started


def client_overhead(url: str, turns: int = 200):
    direct = []
    with httpx.Client(base_url=url, timeout=10, headers=auth('bench-direct')) as http:
        session = http.post('/v1/sessions', json={'robot_id': 'bench-direct', 'entrance': 'entrance_a',
                                                  'language': 'en'}).json()['session_id']
        for i in range(turns):
            language, text = QUESTIONS[i % len(QUESTIONS)]
            started = time.perf_counter()
            http.post(f'/v1/sessions/{session}/turns', json={'text': text, 'language': language},
                      headers={'Idempotency-Key': f'direct-{i}'}).raise_for_status()
            direct.append(time.perf_counter() - started)
    via_client, enqueue = [], []
    client = AssistantClient(url, 'bench-client', 'entrance_a', filler_text=lambda lang: '...',
                             canned_reply=lambda lang: 'canned', token=TOKENS['bench-client'])
    try:
        client.ask('warm-up', 'hello', 'en', lambda r: None).result(5)
        for i in range(turns):
            language, text = QUESTIONS[i % len(QUESTIONS)]
            done = threading.Event()
            started = time.perf_counter()
            client.ask('bench-visitor', text, language, lambda _reply, done=done: done.set())
            enqueue.append(time.perf_counter() - started)
            done.wait(5)
            via_client.append(time.perf_counter() - started)
        status = client.status()
    finally:
        client.close()
    dead = AssistantClient('http://127.0.0.1:9', 'bench-dead', 'entrance_a', filler_text=lambda lang: '...',
                           canned_reply=lambda lang: 'canned', breaker_failures=1, retries=0)
    try:
        dead.ask('v', 'hello', 'en', lambda r: None).result(5)  # opens the breaker
        open_turns = []
        for _ in range(100):
            started = time.perf_counter()
            dead.ask('v', 'hello', 'en', lambda r: None).result(5)
            open_turns.append(time.perf_counter() - started)
    finally:
        dead.close()
    return direct, via_client, enqueue, open_turns, status


def main():
    print(f'python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server: caexpo-assistant serve (SQLite, '
          'synchronous=FULL) in its own process; load generator: asyncio + httpx in this process')
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(Path(tmp) / 'bench.sqlite3')
        unlimited, free_url = start_server(Path(tmp) / 'unlimited.sqlite3', limits=False)
        try:
            fleet(url, 2, 0.0)       # warm-up (within the robots' bursts)
            fleet(free_url, 2, 0.0)
            latencies, errors, wall = fleet(url, 10, 1.0)
            print(line(f'{ROBOTS} robots, 1 turn/s each, the 10-question mix (paced)', latencies),
                  f' errors={len(errors)}  {len(latencies) / wall:5.0f} turns/s')
            latencies, errors, wall = fleet(url, 9, 1.0, DISTINCT)
            distinct = min(len(DISTINCT), ROBOTS * 9)
            print(line(f'{ROBOTS} robots, 1 turn/s each, {distinct} distinct questions', latencies),
                  f' errors={len(errors)}  {len(latencies) / wall:5.0f} turns/s')
            latencies, errors, wall = fleet(free_url, 20, 0.0)
            print(line(f'{ROBOTS} robots, back to back (saturated, no limits)', latencies),
                  f' errors={len(errors)}  {len(latencies) / wall:5.0f} turns/s')
            latencies, errors, wall = fleet(url, 60, 0.0)
            print(line(f'{ROBOTS} robots, back to back (default limits)', latencies),
                  f' throttled (429)={errors.count(429)}  other errors={len(errors) - errors.count(429)}')
            direct, via_client, enqueue, open_turns, status = client_overhead(free_url)
            print(line('plain blocking httpx turn (1 robot)', direct))
            print(line('AssistantClient turn, ask -> on_reply', via_client))
            print(f'{"client overhead per turn (median difference)":<56} '
                  f'{(statistics.median(via_client) - statistics.median(direct)) * 1000:6.2f} ms')
            print(line('ask() call (caller thread, enqueue only)', enqueue))
            print(line('turn with the breaker open (canned at once)', open_turns))
            print(f'client status after the run: turns={status["turns"]} backend={status["backend_replies"]} '
                  f'canned={status["canned"]} retries={status["retries"]}')
        finally:
            for server in (process, unlimited):
                server.terminate()
                server.wait(timeout=10)


if __name__ == '__main__':
    main()
