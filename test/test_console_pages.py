"""The console's pages in a real headless browser (Debian's chromium driven by Playwright) against a real
console (uvicorn, argon2id, SQLite in a temporary folder) whose robots greeter-a and greeter-b are real
RobotLinks on loopback Zenoh: heartbeats, utterances, thumbnails and acks go over the wire signed, and what an
operator does in the page arrives at the robot as a verified command.

The other 48 robots of the 50-robot hall (the layout check and docs/console.png) are signed heartbeats handed
to the console's hub directly, as its event pump does after the link verified them.
"""
from __future__ import annotations

import base64
import json
import queue
import re
import secrets
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from caexpo_console.server import STATIC_DIR, EventPump
from playwright.sync_api import expect

from caexpo_console import start_in_thread
from caexpo_robot.fleet.link import ConsoleLink, RobotLink, zenoh_config
from caexpo_robot.fleet.protocol import Signer
from console_harness import KEYS, PASSWORD, login
from loopback_http import free_port
from polling import wait_for

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / 'docs' / 'console.png'
VIEWPORT = {'width': 1366, 'height': 768}      # the smallest laptop screen a hall desk has
XSS = '<img src=x onerror=alert(1)>'
OTHERS = [f'hall-{i:02d}' for i in range(1, 49)]
ENTRANCES = ('north', 'south', 'east', 'west')


def thumbnail_jpeg() -> str:
    """A small real JPEG (OpenCV) standing in for the telepresence node's blurred camera picture."""
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, :, 0] = np.linspace(40, 200, 160, dtype=np.uint8)
    cv2.circle(image, (80, 60), 30, (90, 160, 220), -1)
    ok, jpeg = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return base64.b64encode(jpeg.tobytes()).decode()


class Robot:
    """Plays one robot's telepresence node on a real RobotLink: a heartbeat with its state every 0.3 s,
    one takeover holder (a second operator is refused, as the interaction node does), an ack for every
    command, thumbnails while someone watches."""

    def __init__(self, robot_id: str, endpoint: str, language: str):
        self.robot_id = robot_id
        self.commands: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.state = {'greeting_paused': False, 'takeover_owner': None, 'watchers': [], 'conversation': 'c1',
                      'visitor_language': language, 'screen': 'listening', 'speaking': False,
                      'diagnostics_level': 0, 'diagnostics': []}
        self.jpeg = thumbnail_jpeg()
        self.link = RobotLink(robot_id, KEYS[robot_id], zenoh_config([], [endpoint]))
        self.link.on_command(self._command)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self):
        while not self._stop.wait(0.3):
            self.heartbeat()
            with self.lock:
                watched = bool(self.state['watchers'])
            if watched:
                self.link.publish('thumbnail', {'jpeg_b64': self.jpeg, 'width': 160, 'height': 120,
                                                'faces_blurred': 1, 'stamp': time.time()})

    def heartbeat(self):
        with self.lock:
            state = json.loads(json.dumps(self.state))
        self.link.publish('heartbeat', {'state': state})

    def _command(self, envelope):
        kind, body = envelope.kind, envelope.body
        ok, error = True, None
        with self.lock:
            owner = self.state['takeover_owner']
            if kind == 'take_over':
                if owner not in (None, body.operator):
                    ok, error = False, f'held by {owner}'
                else:
                    self.state['takeover_owner'] = body.operator
            elif kind == 'hand_back':
                if owner == body.operator or body.force:
                    self.state['takeover_owner'] = None
                else:
                    ok, error = False, 'not the holder'
            elif kind == 'watch':
                watchers = set(self.state['watchers'])
                (watchers.add if body.watching else watchers.discard)(body.operator)
                self.state['watchers'] = sorted(watchers)
            elif kind in ('pause_greeting', 'resume_greeting'):
                self.state['greeting_paused'] = kind == 'pause_greeting'
        self.commands.put(envelope)
        self.link.publish('ack', {'command_id': body.command_id, 'ok': ok, 'error': error})
        self.heartbeat()

    def say(self, text: str, side: str = 'visitor', language: str | None = None, final: bool = True):
        self.link.publish('utterance', {'conversation': 'c1', 'visitor': 'v1', 'side': side, 'text': text,
                                        'language': language or self.state['visitor_language'], 'final': final,
                                        'confidence': 0.9 if final else None, 'utterance': None, 'operator': None})

    def next_command(self, kind: str, timeout: float = 10.0):
        """The next command of `kind` (others on the way are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                envelope = self.commands.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f'{self.robot_id} never received {kind}')
            if envelope.kind == kind:
                return envelope

    def drain(self) -> list:
        out = []
        while not self.commands.empty():
            out.append(self.commands.get())
        return out

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.link.close()


@pytest.fixture(scope='module')
def hall():
    endpoint = f'tcp/127.0.0.1:{free_port()}'
    link = ConsoleLink(KEYS, zenoh_config([endpoint], []))
    robots_cfg = {'greeter-a': {'entrance': 'north', 'label': 'Gate A'}, 'greeter-b': {'entrance': 'south'}}
    robots_cfg.update({r: {'entrance': ENTRANCES[i % 4]} for i, r in enumerate(OTHERS)})
    # escalate_after_s 1: the alerts panel's escalated highlight shows within the test
    console = start_in_thread(link, robots=robots_cfg, escalate_after_s=1.0)
    pump = EventPump(console.hub, 10000)
    link.on_event(pump.put)
    robots = {'greeter-a': Robot('greeter-a', endpoint, 'vi'), 'greeter-b': Robot('greeter-b', endpoint, 'th')}
    for name, role in (('olga', 'operator'), ('petra', 'operator'), ('vera', 'viewer'), ('sam', 'supervisor')):
        console.auth.add_user(name, role, PASSWORD)
    client, me = login(console.url, 'sam')
    wait_for(lambda: all(r['online'] for r in client.get('/api/robots').json()['robots'] if r['robot_id'] in robots),
             'both robots online in the console')
    for robot_id, robot in robots.items():   # commands reach the robot (its subscription may lag the link)
        def arrived(robot_id=robot_id, robot=robot):
            client.post(f'/api/robots/{robot_id}/commands', json={'kind': 'watch', 'watching': False},
                        headers={'X-CSRF-Token': me['csrf']})
            return not robot.commands.empty()
        wait_for(arrived, f'a command at {robot_id}')
        robot.drain()
    others = Signer('robot', {r: secrets.token_bytes(32) for r in OTHERS})
    yield console, robots, others
    for robot in robots.values():
        robot.close()
    link.close()
    pump.stop()
    console.stop()


def beat_others(console, others: Signer):
    """One signed heartbeat from each of the 48 other robots, a few busy, paused or warning."""
    for i, robot_id in enumerate(OTHERS):
        state = {'greeting_paused': i % 11 == 3, 'conversation': f'c{i}' if i % 3 == 0 else None,
                 'visitor_language': ('vi', 'th', 'ms', 'id', 'fil', 'my', 'km', 'lo', 'zh', 'en', 'ko')[i % 11]
                 if i % 3 == 0 else None, 'screen': 'answer' if i % 3 == 0 else 'attract',
                 'speaking': i % 6 == 0, 'diagnostics_level': 1 if i % 13 == 5 else 0}
        if i % 17 == 7:
            continue   # a few stay offline
        if i == 18:
            state['takeover_owner'] = 'mei'
        console.hub.handle(others.sign(robot_id, 'heartbeat', {'state': state}, time.time()))
    console.hub.handle(others.sign('hall-19', 'alert', {'alert_id': 'w1', 'type': 'visitor_waiting', 'language': 'lo'},
                                   time.time()))


@pytest.fixture
def open_page(browser, hall):
    contexts = []

    def sign_in(name: str):
        context = browser.new_context(viewport=VIEWPORT, locale='en-GB')
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on('pageerror', lambda exc: page.problems.append(f'pageerror: {exc}'))
        # Refusals the test provokes (401 before sign-in, 403, 409) are logged by chromium as failed loads: not
        # problems. Anything else logged as an error (a CSP violation, a script error) is.
        page.on('console', lambda msg: msg.type == 'error' and not msg.text.startswith('Failed to load resource')
                and page.problems.append(f'console: {msg.text}'))
        page.on('dialog', lambda dialog: (page.problems.append(f'dialog: {dialog.message}'), dialog.dismiss()))
        page.goto(hall[0].url + '/')
        page.get_by_label('User name').fill(name)
        page.get_by_label('Password').fill(PASSWORD)
        page.get_by_role('button', name='Sign in').click()
        expect(page.locator('#view-fleet')).to_be_visible()
        expect(page.locator('.card')).to_have_count(50)
        return page

    yield sign_in
    for context in contexts:
        pages = context.pages
        problems = [p for page in pages for p in page.problems]
        context.close()
        assert not problems, problems


def test_every_interface_string_is_in_english_and_chinese():
    strings = json.loads((STATIC_DIR / 'i18n.json').read_text(encoding='utf-8'))
    assert set(strings) == {'en', 'zh'}
    assert set(strings['en']) == set(strings['zh'])
    assert all(value.strip() for table in strings.values() for value in table.values())
    used = set(re.findall(r'data-i18n(?:-label)?="(\w+)"', (STATIC_DIR / 'index.html').read_text(encoding='utf-8')))
    used |= set(re.findall(r"\bt\('(\w+)'", (STATIC_DIR / 'app.js').read_text(encoding='utf-8')))
    assert used - set(strings['en']) == set()


def test_operator_watches_takes_over_and_speaks_as_the_robot(hall, open_page):
    console, robots, _ = hall
    a = robots['greeter-a']
    olga = open_page('olga')
    expect(olga.locator('[data-robot="greeter-a"]')).to_have_attribute('data-online', 'true')
    expect(olga.locator('[data-robot="greeter-b"]')).to_have_attribute('data-online', 'true')
    expect(olga.locator('[data-robot="greeter-a"]')).to_contain_text('Gate A')
    olga.locator('[data-robot="greeter-a"]').click()
    expect(olga.locator('#robot-h')).to_contain_text('greeter-a')
    watch = a.next_command('watch')
    assert (watch.body.watching, watch.body.operator) == (True, 'olga')
    expect(olga.locator('#thumb')).to_be_visible()             # ~1 fps thumbnails while watched
    assert olga.locator('#thumb').evaluate('img => img.naturalWidth') == 160

    # The visitor speaks: partial, then final, with its language; then markup said by a "visitor".
    a.say('Xin chào, nhà vệ', final=False)
    expect(olga.locator('#transcript li.partial')).to_contain_text('Xin chào, nhà vệ')
    a.say('Xin chào, nhà vệ sinh ở đâu?')
    line = olga.locator('#transcript li.final[data-side="visitor"]').last
    expect(line).to_contain_text('Xin chào, nhà vệ sinh ở đâu?')
    expect(line.locator('.lang')).to_have_text('vi')
    expect(line.locator('.text')).to_have_attribute('lang', 'vi')
    expect(olga.locator('#transcript li.partial')).to_have_count(0)
    a.say(XSS)
    expect(olga.locator('#transcript li .text').last).to_have_text(XSS)
    assert olga.locator('#transcript img').count() == 0

    olga.get_by_role('button', name='Take over').click()
    assert a.next_command('take_over').body.operator == 'olga'
    expect(olga.get_by_role('button', name='Hand back')).to_be_visible()
    expect(olga.locator('#robot-status')).to_contain_text('Take over: done')

    # Say as the robot: the language defaults to the visitor's; a quick reply fills the box in it.
    assert olga.locator('#say-lang').input_value() == 'vi'
    olga.locator('#quick button[data-key="one_moment"]').click()
    assert olga.locator('#say-text').input_value().strip()
    olga.get_by_label('Text the robot says').fill('Mời anh chị đi theo biển chỉ dẫn.')
    olga.get_by_role('button', name='Say', exact=True).click()
    say = a.next_command('say')   # delivered by the RobotLink only after its signature and sequence checked out
    assert (say.sender, say.robot_id, say.body.text, say.body.language, say.body.operator) == (
        'console', 'greeter-a', 'Mời anh chị đi theo biển chỉ dẫn.', 'vi', 'olga')
    assert re.fullmatch(r'[0-9a-f]{64}', say.sig)
    expect(olga.locator('#say-text')).to_have_value('')

    # A second operator is refused while olga holds it, and sees why.
    petra = open_page('petra')
    petra.goto(console.url + '/#/robot/greeter-a')
    expect(petra.locator('[data-side="visitor"]').first).to_be_visible()
    expect(petra.locator('#robot-state')).to_contain_text('olga')
    a.drain()
    petra.get_by_role('button', name='Take over').click()
    expect(petra.locator('#robot-error')).to_contain_text('held by olga')
    assert [e for e in a.drain() if e.kind == 'take_over'] == []

    # A viewer may look, not speak: 403 shown; no picture either (watching is an operator's).
    vera = open_page('vera')
    vera.goto(console.url + '/#/robot/greeter-a')
    expect(vera.locator('#thumb-note')).to_contain_text('operator role')
    vera.get_by_label('Text the robot says').fill('hello')
    vera.get_by_role('button', name='Say', exact=True).click()
    expect(vera.locator('#robot-error')).to_contain_text('your role (viewer) may not do this')
    assert [e for e in a.drain() if e.kind == 'say'] == []

    # The Chinese interface: every string switches, the visitor's words stay as they were.
    vera.get_by_label('Interface language').select_option('zh')
    expect(vera.locator('#robot-h')).to_have_text('机器人 Gate A (greeter-a)')
    expect(vera.locator('#nav a[data-view="fleet"]')).to_have_text('机器人')
    expect(vera.get_by_role('button', name='接管')).to_be_visible()
    expect(vera.locator('#transcript li.final[data-side="visitor"] .who').first).to_have_text('访客')
    expect(vera.locator('#transcript li .text').last).to_have_text(XSS)
    assert vera.evaluate('document.documentElement.lang') == 'zh-CN'
    vera.get_by_role('button', name='说', exact=True).click()
    expect(vera.locator('#robot-error')).to_contain_text('您的角色（查看者）无此权限')

    # Hand back, and leaving the view stops the watch.
    olga.get_by_role('button', name='Hand back').click()
    assert a.next_command('hand_back').body.operator == 'olga'
    expect(olga.get_by_role('button', name='Take over')).to_be_visible()
    olga.get_by_role('link', name='← Fleet').click()
    assert a.next_command('watch').body.watching is False


def test_alerts_analytics_and_audit(hall, open_page):
    console, robots, _ = hall
    b = robots['greeter-b']
    b.link.publish('alert', {'alert_id': 'al1', 'type': 'staff_requested', 'visitor': 'v9', 'language': 'th',
                             'detail': XSS})
    now = time.time()
    b.link.publish('counters', {'window_s': 60.0, 'seen': 12, 'engaged': 7, 'served': 5,
                                'languages': {'th': 4, 'en': 3}})
    b.link.publish('conversation_ended', {'conversation': 'c1', 'visitor': 'v9', 'language': 'th',
                                          'started_at': now - 60, 'ended_at': now, 'turns': 3,
                                          'intents': ['directions'], 'answered': 2,
                                          'unanswered': ['ห้องละหมาดอยู่ที่ไหน'], 'latencies_ms': [700.0, 1500.0]})
    sam = open_page('sam')
    expect(sam.locator('[data-robot="greeter-b"] .chip.alerts')).to_have_text('alerts: 1')
    sam.locator('#nav').get_by_role('link', name='Alerts').click()
    row = sam.locator('#alerts tr[data-alert="al1"]')
    expect(row).to_have_class(re.compile(r'\bescalated\b'))    # nobody acknowledged it within escalate_after_s
    expect(row.locator('td.state')).to_have_text('ESCALATED')
    expect(row.locator('td.detail')).to_have_text(XSS)
    row.get_by_label('Assign this alert to').fill('Mei (hall staff)')
    row.get_by_role('button', name='Assign').click()
    expect(sam.locator('#alerts tr[data-alert="al1"] td').nth(6)).to_have_text('Mei (hall staff)')
    sam.locator('#alerts tr[data-alert="al1"]').get_by_role('button', name='Acknowledge').click()
    ack = b.next_command('acknowledge_alert')
    assert (ack.body.alert_id, ack.body.operator) == ('al1', 'sam')
    expect(sam.locator('#alerts tr[data-alert="al1"] td.state')).to_have_text('acknowledged')

    sam.locator('#nav').get_by_role('link', name='Analytics').click()
    wait_for(lambda: console.storage.conversations(robot='greeter-b', limit=5), 'the conversation stored')
    sam.get_by_role('button', name='Refresh').click()
    expect(sam.locator('#an-chart .uplot canvas')).to_have_count(1)
    expect(sam.locator('#an-chart .u-legend')).to_contain_text('greeter-b')
    sam.get_by_label('Grouped by', exact=True).select_option('entrance')
    expect(sam.locator('#an-chart .u-legend')).to_contain_text('south')
    expect(sam.locator('#an-latency dd[data-p="p50"]')).to_contain_text('ms')
    expect(sam.locator('#an-unanswered')).to_contain_text('ห้องละหมาดอยู่ที่ไหน')
    expect(sam.locator('#an-languages')).to_contain_text('ภาษาไทย')

    sam.locator('#nav').get_by_role('link', name='Audit log').click()
    expect(sam.locator('#audit')).to_contain_text('assign_alert')
    sam.get_by_label('Who').fill('sam')
    sam.get_by_label('Action', exact=True).fill('acknowledge_alert')
    sam.get_by_role('button', name='Filter').click()
    expect(sam.locator('#audit tr')).to_have_count(1)
    expect(sam.locator('#audit tr')).to_contain_text('greeter-b')
    expect(sam.locator('#audit tr')).to_contain_text('sent')


def test_fifty_robots_fit_one_screen(hall, open_page):
    console, _, others = hall
    beat_others(console, others)
    olga = open_page('olga')
    beat_others(console, others)
    expect(olga.locator('.card[data-online="true"]')).to_have_count(2 + 48 - len(OTHERS[7::17]))
    layout = olga.evaluate('''() => {
        const cards = [...document.querySelectorAll('.card')].map(c => c.getBoundingClientRect());
        return {n: cards.length, bottom: Math.max(...cards.map(r => r.bottom)),
                right: Math.max(...cards.map(r => r.right)),
                minHeight: Math.min(...cards.map(r => r.height)), scroll: document.documentElement.scrollHeight,
                h: innerHeight, w: innerWidth};
    }''')
    assert layout['n'] == 50
    assert layout['bottom'] <= layout['h'] and layout['right'] <= layout['w'], layout
    assert layout['scroll'] <= layout['h'], layout
    assert layout['minHeight'] >= 40, layout       # still readable, not squashed
    SCREENSHOT.parent.mkdir(exist_ok=True)
    olga.screenshot(path=str(SCREENSHOT))
