"""Figures for the operators' console under a fleet's load (prints; asserts nothing).

`caexpo-console serve` runs as its own process (so its CPU and memory are its own): SQLite in a temporary
folder, its Zenoh session a peer listening on a free loopback port. This process plays the fleet: 50 real
RobotLinks (one Zenoh session and one key each, connecting to the console) publishing what a robot's
telepresence node publishes at a busy hour:
- a heartbeat every second per robot (state: conversation, language, speaking);
- a conversation turn every 7–13 s per robot (a partial and a final visitor utterance, the assistant's
  reply, the robot's spoken utterance), a conversation_ended every 3 turns, now and then a staff alert;
- counters every 60 s per robot (phases spread);
- a face-blurred 320-pixel JPEG thumbnail per second from the 2 robots an operator watches.
One operator is logged in with the event stream (/api/stream) open, watches 2 robots and says something
through a random robot every `--say-every` s. Measured:
- the console process's CPU (% of one core, over the window) and memory (RSS, peak);
- a robot's utterance (signed and put by its RobotLink) → the same line in the operator's event stream;
- an operator's say (POST /api/robots/{id}/commands) → the robot's RobotLink delivering the verified
  command (where the telepresence node turns it into OperatorControl at once).
The fleet's side shares the machine's cores with the console: its own CPU is printed too.

    .venv/bin/python bench/bench_console.py [--robots 50] [--seconds 60] [--say-every 0.5]
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from caexpo_robot.fleet.link import RobotLink, zenoh_config  # noqa: E402
from caexpo_robot.fleet.protocol import Thumbnail  # noqa: E402

PASSWORD = 'bench operator password'
PHOTO = ROOT.parent / 'shared' / 'data' / 'faces' / 'two_people.jpg'
TURNS = [('en', 'Where is the AI zone?', 'The AI zone is in hall 5, straight ahead and to the left.'),
         ('vi', 'Tôi muốn tìm nhà cung cấp sầu riêng', 'Có ba nhà cung cấp sầu riêng ở khu B.'),
         ('zh', '今天有什么活动？', '今天下午两点在主会场有人工智能圆桌会议。'),
         ('th', 'ห้องน้ำอยู่ที่ไหน', 'ห้องน้ำอยู่ทางขวามือ ใกล้ทางออกที่สาม'),
         ('ko', '두리안 업체를 찾고 있어요', '두리안 업체 세 곳이 B 구역에 있습니다.'),
         ('ms', 'Nama saya Siti, boleh hubungi 012-345 6789?', 'Baik, kakitangan kami akan datang sebentar lagi.'),
         ('id', 'Saya mencari kopi luwak', 'Ada dua peserta pameran kopi di aula 2.'),
         ('fil', 'Nasaan ang pavilion ng Pilipinas?', 'Nasa hall 3 ang pavilion ng Pilipinas.'),
         ('km', 'ខ្ញុំស្វែងរកអង្ករកម្ពុជា', 'មានអ្នកតាំងពិព័រណ៍អង្ករពីរនៅសាល ៤។'),
         ('lo', 'ຊອກຫາບໍລິສັດກາເຟ', 'ມີສອງບໍລິສັດກາເຟຢູ່ຫ້ອງ 2.'),
         ('my', 'ကော်ဖီကုမ္ပဏီ ဘယ်မှာလဲ', 'ခန်းမ ၂ မှာ ကော်ဖီကုမ္ပဏီ နှစ်ခု ရှိပါတယ်။')]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def ms_line(name: str, seconds: list[float]) -> str:
    if not seconds:
        return f'{name}: no samples'
    ms = [s * 1000 for s in seconds]
    return (f'{name}: n={len(ms)} p50 {pct(ms, 50):.1f} ms, p90 {pct(ms, 90):.1f} ms, p99 {pct(ms, 99):.1f} ms, '
            f'max {max(ms):.1f} ms')


def cpu_seconds(pid: int) -> float:
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')     # utime + stime


def memory_kib(pid: int) -> dict[str, int]:
    out = {}
    for row in Path(f'/proc/{pid}/status').read_text().splitlines():
        name, _, value = row.partition(':')
        if name in ('VmRSS', 'VmHWM', 'Threads'):
            out[name] = int(value.split()[0])
    return out


def thumbnail_jpeg() -> tuple[bytes, int, int, int]:
    """A real 320-pixel thumbnail as the robot makes it (telepresence.thumbnails, faces region blurred)."""
    import cv2
    import numpy as np

    from caexpo_robot.telepresence.thumbnails import thumbnail
    bgr = cv2.imread(str(PHOTO)) if PHOTO.exists() else None
    rgb = (np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8) if bgr is None
           else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    # Roughly where the two faces of the photo are (no detector here: only the JPEG's size matters).
    boxes = [SimpleNamespace(x=0.15, y=0.15, w=0.25, h=0.35), SimpleNamespace(x=0.6, y=0.15, w=0.25, h=0.35)]
    return thumbnail(rgb, boxes, 320, 70)


class FakeRobot:
    """One robot's event stream through its own RobotLink; commands are timed on arrival (the link's thread)."""

    def __init__(self, robot_id: str, key: bytes, endpoint: str, bench: Bench, start: float, rng: random.Random):
        self.robot_id, self.bench, self.rng = robot_id, bench, rng
        self.link = RobotLink(robot_id, key, zenoh_config([], [endpoint], mode='peer'))
        self.link.on_command(self.on_command)
        self.next_heartbeat = start + rng.random()
        self.next_turn = start + rng.uniform(1, 10)
        self.next_counters = start + rng.uniform(0, 60)
        self.next_thumbnail = 0.0
        self.watched = False
        self.conversation: str | None = None
        self.language: str | None = None
        self.turns = 0
        self.latencies: list[float] = []
        self.speaking_until = 0.0
        self.alert: str | None = None
        self.commands: queue.SimpleQueue = queue.SimpleQueue()

    def on_command(self, envelope) -> None:
        """On the link's receive thread: note the time (the measurement point), hand over."""
        self.bench.command_arrived(envelope.body.command_id, time.time())
        self.commands.put(envelope)

    def publish(self, kind: str, body: dict) -> None:
        try:
            self.link.publish(kind, body)
            self.bench.sent[kind] += 1
        except Exception as exc:     # counted, the benchmark goes on
            self.bench.sent[f'failed_{kind}'] += 1
            self.bench.errors.append(f'{self.robot_id} {kind}: {exc}'[:200])

    def step(self, now: float) -> None:
        while True:
            try:
                envelope = self.commands.get_nowait()
            except queue.Empty:
                break
            body = envelope.body
            if envelope.kind == 'watch':
                self.watched = body.watching
            elif envelope.kind == 'say':
                self.publish('utterance', {'side': 'operator', 'text': body.text, 'final': True,
                                           'language': body.language or self.language or 'en',
                                           'conversation': self.conversation, 'operator': body.operator})
            self.publish('ack', {'command_id': body.command_id, 'ok': True})
        if now >= self.next_heartbeat:
            self.next_heartbeat += 1.0
            self.publish('heartbeat', {'state': {
                'greeting_paused': False, 'conversation': self.conversation, 'visitor_language': self.language,
                'screen': 'answer' if self.conversation else 'attract', 'speaking': now < self.speaking_until,
                'watchers': ['op'] if self.watched else []}})
        if now >= self.next_turn:
            self.next_turn = now + self.rng.uniform(7, 13)
            self.turn(now)
        if now >= self.next_counters:
            self.next_counters += 60.0
            self.publish('counters', {'window_s': 60.0, 'seen': self.rng.randint(10, 40),
                                      'engaged': self.rng.randint(3, 8), 'served': self.rng.randint(2, 6),
                                      'languages': {self.language or 'en': self.rng.randint(1, 5)}})
        if self.watched and now >= self.next_thumbnail:
            self.next_thumbnail = now + 1.0
            jpeg, width, height, blurred = self.bench.jpeg
            self.publish('thumbnail', Thumbnail.of(jpeg, width, height, blurred, now).model_dump(mode='json'))

    def turn(self, now: float) -> None:
        if self.conversation is None:
            self.conversation = uuid.uuid4().hex[:12]
            self.language, _, _ = self.rng.choice(TURNS)
            self.started = now
        language = self.language
        question, answer = next((q, a) for lang, q, a in TURNS if lang == language)
        common = {'conversation': self.conversation, 'visitor': f'v-{self.conversation}', 'language': language}
        self.publish('utterance', {**common, 'side': 'visitor', 'text': question[:len(question) // 2],
                                   'final': False})
        self.publish('utterance', {**common, 'side': 'visitor', 'text': question, 'final': True, 'confidence': 0.9})
        self.publish('reply', {'conversation': self.conversation, 'visitor': common['visitor'], 'text': answer,
                               'intent': 'directions', 'source': 'assistant', 'actions': []})
        self.publish('utterance', {**common, 'side': 'robot', 'text': answer, 'final': True})
        self.speaking_until = now + 3.0
        self.turns += 1
        self.latencies.append(self.rng.uniform(600, 1600))
        if self.rng.random() < 0.05 and self.alert is None:
            self.alert = uuid.uuid4().hex[:12]
            self.publish('alert', {'alert_id': self.alert, 'type': 'staff_requested', 'visitor': common['visitor'],
                                   'language': language, 'detail': None})
        if self.turns >= 3:
            self.publish('conversation_ended', {
                'conversation': self.conversation, 'visitor': common['visitor'], 'language': language,
                'started_at': self.started, 'ended_at': now, 'turns': self.turns, 'intents': ['directions'],
                'answered': self.turns, 'unanswered': [], 'latencies_ms': self.latencies})
            if self.alert is not None:
                self.publish('alert_cleared', {'alert_id': self.alert})
                self.alert = None
            self.conversation, self.language, self.turns, self.latencies = None, None, 0, []


class Bench:
    def __init__(self):
        self.sent: Counter = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.say_posted: dict[str, float] = {}     # command_id -> time.time() before the POST
        self.early: dict[str, float] = {}          # command_id -> arrival at the robot
        self.say_latency: list[float] = []
        self.say_http: list[float] = []
        self.stream_latency: list[float] = []
        self.stream_events: Counter = Counter()
        self.measuring = False
        self.stop = threading.Event()
        self.stream_response = None
        self.jpeg = thumbnail_jpeg()

    # A command may reach the robot before the console's HTTP answer (with its command_id) reaches the
    # operator: such arrivals wait in `early` and are matched when the id is known.
    def command_arrived(self, command_id: str, at: float) -> None:
        with self.lock:
            posted = self.say_posted.pop(command_id, None)
            if posted is None:
                self.early[command_id] = at
            elif self.measuring:
                self.say_latency.append(at - posted)

    def say_answered(self, command_id: str, posted: float) -> None:
        with self.lock:
            at = self.early.pop(command_id, None)
            if at is None:
                self.say_posted[command_id] = posted
            elif self.measuring:
                self.say_latency.append(at - posted)


def start_console(tmp: Path, robots: list[str], keys: dict[str, str]) -> tuple[subprocess.Popen, str, str, Path]:
    keys_file = tmp / 'fleet_keys.json'
    keys_file.write_text(json.dumps(keys))
    keys_file.chmod(0o600)
    http_port, zenoh_port = free_port(), free_port()
    endpoint = f'tcp/127.0.0.1:{zenoh_port}'
    config = tmp / 'console.yaml'
    config.write_text(yaml.safe_dump({
        'host': '127.0.0.1', 'port': http_port, 'db': str(tmp / 'console.sqlite3'), 'robot_keys_file': str(keys_file),
        'zenoh': {'mode': 'peer', 'listen': [endpoint]},
        'robots': {r: {'entrance': f'entrance-{i % 4 + 1}', 'label': f'Greeter {i + 1}'} for i, r in enumerate(robots)},
    }))
    exe = ROOT / '.venv' / 'bin' / 'caexpo-console'
    command = [str(exe)] if exe.exists() else [sys.executable, '-m', 'caexpo_console.cli']
    subprocess.run(command + ['--config', str(config), 'users', 'add', 'op', '--role', 'operator'],
                   input=PASSWORD + '\n', text=True, check=True, capture_output=True)
    log = (tmp / 'console.log').open('w')
    proc = subprocess.Popen(command + ['--config', str(config), 'serve'], stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{http_port}'
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + '/api/health', timeout=1).status_code == 200:
                return proc, url, endpoint, tmp / 'console.log'
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f'the console did not start: {(tmp / "console.log").read_text()[-2000:]}')


def read_stream(bench: Bench, url: str, cookies, robots: set[str]) -> None:
    """The operator's browser: the event stream, timing each final utterance line of a robot on arrival."""
    try:
        _read_stream(bench, url, cookies, robots)
    except (httpx.HTTPError, RuntimeError) as exc:    # the console went away, or the benchmark closed it
        if not bench.stop.is_set():
            bench.errors.append(f'event stream: {exc}'[:200])


def _read_stream(bench: Bench, url: str, cookies, robots: set[str]) -> None:
    with httpx.Client(base_url=url, cookies=cookies, timeout=httpx.Timeout(10, read=None)) as client:
        with client.stream('GET', '/api/stream') as response:
            bench.stream_response = response
            kind = None
            for row in response.iter_lines():
                if bench.stop.is_set():
                    return
                if row.startswith('event: '):
                    kind = row[7:]
                elif row.startswith('data: '):
                    arrived = time.time()
                    bench.stream_events[kind] += 1
                    if kind == 'transcript':
                        event = json.loads(row[6:])
                        line = event['line']
                        if (bench.measuring and event['robot_id'] in robots and line['kind'] == 'utterance'
                                and line['side'] in ('visitor', 'robot')):
                            bench.stream_latency.append(arrived - line['at'])   # `at`: sent_at, signed on the robot


def operator(bench: Bench, client: httpx.Client, csrf: str, robots: list[str], every_s: float, rng: random.Random):
    texts = ['A colleague is coming to help you now.', 'Xin chào, tôi là nhân viên hỗ trợ.', '请稍等，工作人员马上到。',
             'Sila tunggu sebentar.', '잠시만 기다려 주세요.']
    next_at = time.monotonic()
    while not bench.stop.is_set():
        next_at += every_s
        robot = rng.choice(robots)
        posted = time.time()
        response = client.post(f'/api/robots/{robot}/commands', headers={'X-CSRF-Token': csrf},
                               json={'kind': 'say', 'text': rng.choice(texts)})
        answered = time.time()
        if response.status_code == 202:
            if bench.measuring:
                bench.say_http.append(answered - posted)
            bench.say_answered(response.json()['command_id'], posted)
        else:
            bench.errors.append(f'say {robot}: {response.status_code} {response.text[:120]}')
        bench.stop.wait(max(0.0, next_at - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--robots', type=int, default=50)
    parser.add_argument('--seconds', type=float, default=60.0, help='the measured window (after a warm-up)')
    parser.add_argument('--warmup', type=float, default=10.0)
    parser.add_argument('--say-every', type=float, default=0.5, help='the operator says something this often')
    parser.add_argument('--watched', type=int, default=2, help='robots the operator watches (thumbnails)')
    args = parser.parse_args()
    rng = random.Random(13)
    robots = [f'bench-{i:02d}' for i in range(args.robots)]
    keys = {r: secrets.token_hex(32) for r in robots}
    bench = Bench()


    model = next((row.split(':', 1)[1].strip() for row in Path('/proc/cpuinfo').read_text().splitlines()
                  if row.startswith('model name')), '?')
    print(f'machine: {os.cpu_count()} cores ({model}), load average at start '
          f'{" ".join(f"{v:.2f}" for v in os.getloadavg())}')
    with tempfile.TemporaryDirectory(prefix='bench_console_') as tmp_name:
        tmp = Path(tmp_name)
        proc, url, endpoint, log_path = start_console(tmp, robots, keys)
        links: list[FakeRobot] = []
        try:
            start = time.time()
            opened = time.monotonic()
            for robot in robots:
                links.append(FakeRobot(robot, bytes.fromhex(keys[robot]), endpoint, bench, start, rng))
            print(f'{len(links)} RobotLinks opened in {time.monotonic() - opened:.1f} s; '
                  f'console RSS idle with the fleet connected: {memory_kib(proc.pid)["VmRSS"] / 1024:.0f} MiB')

            def drive():
                while not bench.stop.is_set():
                    now = time.time()
                    for link in links:
                        link.step(now)
                    bench.stop.wait(0.02)
            driver = threading.Thread(target=drive, name='fleet', daemon=True)
            driver.start()

            client = httpx.Client(base_url=url, timeout=10)
            login = client.post('/api/login', json={'name': 'op', 'password': PASSWORD})
            login.raise_for_status()
            csrf = login.json()['csrf']
            reader = threading.Thread(target=read_stream, args=(bench, url, client.cookies, set(robots)),
                                      name='stream', daemon=True)
            reader.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and client.get('/api/health').json()['online'] < len(robots):
                time.sleep(0.2)
            print(f'online in the console: {client.get("/api/health").json()["online"]} / {len(robots)}')
            for robot in robots[:args.watched]:
                client.post(f'/api/robots/{robot}/commands', headers={'X-CSRF-Token': csrf},
                            json={'kind': 'watch', 'watching': True}).raise_for_status()
            speaker = threading.Thread(target=operator, args=(bench, client, csrf, robots, args.say_every, rng),
                                       name='operator', daemon=True)
            speaker.start()
            time.sleep(args.warmup)

            sent_before = Counter(bench.sent)
            events_before = Counter(bench.stream_events)
            cpu0, mine0, t0 = cpu_seconds(proc.pid), resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
            bench.measuring = True
            rss: list[int] = []
            while time.monotonic() - t0 < args.seconds:
                rss.append(memory_kib(proc.pid)['VmRSS'])
                time.sleep(1.0)
            bench.measuring = False
            elapsed = time.monotonic() - t0
            cpu1, mine1 = cpu_seconds(proc.pid), resource.getrusage(resource.RUSAGE_SELF)
            memory = memory_kib(proc.pid)
            load = os.getloadavg()
            health = client.get('/api/health').json()
            sent = bench.sent - sent_before
            events = bench.stream_events - events_before

            print(f'\nmeasured window: {elapsed:.0f} s, after {args.warmup:.0f} s of warm-up; load average at the end '
                  f'{" ".join(f"{v:.2f}" for v in load)}')
            per_s = {kind: n / elapsed for kind, n in sorted(sent.items())}
            print('robots published per second: ' + ', '.join(f'{k} {v:.1f}' for k, v in per_s.items())
                  + f' (total {sum(sent.values()) / elapsed:.0f}/s)')
            print('event stream received per second: ' + ', '.join(f'{k} {v / elapsed:.1f}'
                                                                    for k, v in sorted(events.items())))
            print(f'console process CPU: {100 * (cpu1 - cpu0) / elapsed:.1f} % of one core; RSS mean '
                  f'{sum(rss) / len(rss) / 1024:.0f} MiB, max {max(rss) / 1024:.0f} MiB, peak (VmHWM) '
                  f'{memory["VmHWM"] / 1024:.0f} MiB; {memory["Threads"]} threads')
            mine = (mine1.ru_utime + mine1.ru_stime - mine0.ru_utime - mine0.ru_stime) / elapsed
            print(f'this process ({len(links)} robots, their Zenoh sessions, the operator, the stream reader): '
                  f'{100 * mine:.0f} % of one core (same 2 cores)')
            print(ms_line("robot's utterance put -> the operator's event stream", bench.stream_latency))
            print(ms_line("operator's say POST -> the robot's RobotLink delivers it", bench.say_latency))
            print(ms_line('say POST -> HTTP 202', bench.say_http))
            print(f'console health: {health}')
            drops = Counter()
            for link in links:
                drops.update(link.link.drop_counts())
            print(f'robot links dropped: {dict(drops) or 0}; publish errors: {len(bench.errors)}'
                  + (f' (first: {bench.errors[0]})' if bench.errors else ''))
        finally:
            bench.stop.set()
            if bench.stream_response is not None:     # the browser tab closes first (else SIGTERM waits for it)
                bench.stream_response.close()
            for link in links:
                link.link.close()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            tail = log_path.read_text()[-1500:].strip()
            if tail:
                print(f'console log (tail):\n{tail}')


if __name__ == '__main__':
    main()
