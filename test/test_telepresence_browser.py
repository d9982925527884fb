"""Issue 13's acceptance in a real headless browser (Debian's chromium driven by Playwright): the operators
use the console's pages, the visitor uses robot A's own screen page, and behind them runs the real fleet of
test/telepresence_harness.py (two simulated robots with their real nodes, each in its own namespace with its
own Zenoh session, the reference assistant, a real console). test_telepresence_acceptance.py checks the same
flow at the API level, with the robot-side details (thumbnail blur, held questions, robot B untouched).

Screenshots of the console's robot view and of A's screen with the 'staff member speaking' banner are saved
under build/telepresence/ for a person to look at.
"""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from caexpo_robot.language.phrasebook import Phrasebook
from polling import wait_for
from telepresence_harness import PASSWORD, STAFF, telepresence_fleet

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / 'build' / 'telepresence'
VIEWPORT = {'width': 1366, 'height': 768}         # the hall desk's laptop, as in test_console_pages.py
KIOSK = {'width': 1280, 'height': 800}            # the robot's touchscreen, as in test_screen_page.py
A, B = 'greeter-a', 'greeter-b'
QUESTION_VI = 'Xin chào, nhà vệ sinh ở đâu?'
REPLY_VI = 'Chào bạn, tôi là nhân viên. Nhà vệ sinh ở bên trái cổng số hai.'
AFTER_QUESTION_VI = 'Cảm ơn. Phòng y tế ở đâu?'
COMMANDS = re.compile(r'/api/robots/[^/]+/commands$')


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    with telepresence_fleet(tmp_path_factory.mktemp('fleet'), (A, B), staff=STAFF) as running:
        yield running


@pytest.fixture
def pages(browser):
    """Opens pages in contexts of their own (separate cookies); every command a console page POSTs is kept
    (who, kind, HTTP status) for the audit check; script errors fail the test."""
    contexts, problems, commands = [], [], []

    def open_page(url: str, viewport: dict, who: str | None = None):
        context = browser.new_context(viewport=viewport, locale='en-GB')
        contexts.append(context)
        page = context.new_page()
        page.on('pageerror', lambda exc: problems.append(f'{who or url}: pageerror: {exc}'))
        # The refusals the test provokes (401 before sign-in, 403, 409) are logged by chromium as failed loads.
        page.on('console', lambda msg: msg.type == 'error' and not msg.text.startswith('Failed to load resource')
                and problems.append(f'{who or url}: console: {msg.text}'))
        if who is not None:
            page.on('response', lambda r: r.request.method == 'POST' and COMMANDS.search(r.url) and commands.append(
                (who, r.request.post_data_json['kind'], r.status)))
        page.goto(url)
        return page

    yield open_page, commands
    for context in contexts:
        context.close()
    assert not problems, problems


def sign_in(open_page, url: str, name: str):
    """`name` signs in through the login form and sees the fleet view."""
    page = open_page(url + '/', VIEWPORT, name)
    page.get_by_label('User name').fill(name)
    page.get_by_label('Password').fill(PASSWORD)
    page.get_by_role('button', name='Sign in').click()
    expect(page.locator('#view-fleet')).to_be_visible()
    return page


def staff(screen) -> str:
    """What A's screen page shows as its staff banner ('' when hidden)."""
    return screen.evaluate("(() => { const b = document.querySelector('#staff'); "
                           "return b.hidden || !b.offsetHeight ? '' : b.dataset.staff + ':' + b.textContent; })()")


def test_operators_in_the_browser_take_over_robot_a_and_hand_back(fleet, pages):
    open_page, commands = pages
    a = fleet.robots[A]
    book = Phrasebook.load()

    # olga signs in: both robots online in the fleet view.
    olga = sign_in(open_page, fleet.url, 'olga')
    for robot_id in (A, B):
        expect(olga.locator(f'[data-robot="{robot_id}"]')).to_have_attribute('data-online', 'true', timeout=15000)

    # A visitor steps up to A and is greeted; A's own screen page (the kiosk's browser) shows the conversation.
    screen = open_page(a.screen_url, KIOSK)
    a.visitor_steps_up()
    wait_for(lambda: a.events_of('listening_started'), 'A greeting its visitor and listening', 20)
    expect(screen.locator('body')).to_have_class('conversation')

    # olga opens A: the watch makes A's screen say a staff member is watching, in the visitor's language.
    olga.locator(f'[data-robot="{A}"]').click()
    expect(olga.locator('#robot-h')).to_contain_text(A)
    wait_for(lambda: staff(screen).startswith('watching:'), "A's screen banner 'watching'", 10)
    expect(olga.locator('#thumb')).to_be_visible(timeout=10000)     # the blurred thumbnail, ~1 fps

    # The visitor types a question on A's screen; it reaches olga's transcript with its language, and so does
    # the assistant's answer (spoken by A).
    screen.locator('#ask-input').fill(QUESTION_VI)
    screen.locator('#ask-input').press('Enter')
    visitor = olga.locator('#transcript li.final[data-side="visitor"]').filter(has_text=QUESTION_VI)
    expect(visitor).to_have_count(1, timeout=10000)
    expect(visitor.locator('.lang')).to_have_text('vi')
    expect(visitor.locator('.text')).to_have_attribute('lang', 'vi')
    answer = wait_for(lambda: a.spoken('answer'), "the assistant's answer spoken by A", 15)[0]
    assert answer.language == 'vi'
    expect(olga.locator('#transcript li.reply')).to_have_count(1, timeout=10000)
    expect(olga.locator('#transcript li.reply .who')).to_have_text('Assistant')
    reply = olga.locator('#transcript li.reply .text').text_content()
    assert reply.startswith(answer.text)       # the tts speaks the reply sentence by sentence
    expect(screen.locator('#answer-text')).to_have_text(reply)

    # olga takes A over: acknowledged by the robot, her button becomes Hand back, A's banner says 'speaking'.
    olga.get_by_role('button', name='Take over').click()
    expect(olga.locator('#robot-status')).to_have_text('Take over: done.', timeout=10000)
    expect(olga.get_by_role('button', name='Hand back')).to_be_visible()
    wait_for(lambda: staff(screen) == 'speaking:' + book.say('screen_staff_speaking', 'vi').text,
             "A's screen banner 'speaking' in Vietnamese", 10)

    # Say as the robot: in the visitor's language by default (from A's heartbeat, once a second; the visitor
    # was greeted in Chinese first); A's tts speaks it and its screen shows it.
    expect(olga.locator('#say-lang')).to_have_value('vi')
    olga.get_by_label('Text the robot says').fill(REPLY_VI)
    olga.get_by_role('button', name='Say', exact=True).click()
    expect(olga.locator('#say-text')).to_have_value('')
    spoken = wait_for(lambda: [e for e in a.spoken('operator') if e.text == REPLY_VI], 'A speaking the reply', 15)
    assert spoken[0].language == 'vi'
    expect(screen.locator('#answer-text')).to_have_text(REPLY_VI, timeout=10000)
    assert staff(screen).startswith('speaking:')
    operator_line = olga.locator('#transcript li[data-side="operator"]').filter(has_text=REPLY_VI)
    expect(operator_line).to_have_count(1, timeout=10000)
    expect(operator_line.locator('.who')).to_contain_text('olga')
    expect(olga.locator('#robot-status')).to_have_text('Say: done.', timeout=10000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    screen.screenshot(path=str(SHOTS / 'screen_a_staff_speaking.png'))
    olga.screenshot(path=str(SHOTS / 'console_robot.png'))

    # A second operator sees olga holding A, and her Take over is refused with the holder's name.
    minh = sign_in(open_page, fleet.url, 'minh')
    minh.locator(f'[data-robot="{A}"]').click()
    expect(minh.locator('#robot-state')).to_contain_text('olga')
    expect(minh.locator('#thumb')).to_be_visible(timeout=10000)     # her watch went through too
    with minh.expect_response(lambda r: COMMANDS.search(r.url) and r.request.post_data_json['kind'] == 'take_over'
                              ) as refused:
        minh.get_by_role('button', name='Take over').click()
    assert refused.value.status == 409
    expect(minh.locator('#robot-error')).to_contain_text('Refused: held by olga.')

    # A viewer may not speak through the robot: 403, and the page says why.
    vera = sign_in(open_page, fleet.url, 'vera')
    vera.locator(f'[data-robot="{A}"]').click()
    expect(vera.locator('#thumb-note')).to_contain_text('operator role')     # nor may she watch (403)
    vera.get_by_label('Text the robot says').fill('hello')
    with vera.expect_response(lambda r: COMMANDS.search(r.url) and r.request.post_data_json['kind'] == 'say'
                              ) as forbidden:
        vera.get_by_role('button', name='Say', exact=True).click()
    assert forbidden.value.status == 403
    expect(vera.locator('#robot-error')).to_contain_text('Refused: your role (viewer) may not do this.')

    # Without a session nothing is accepted.
    nobody = httpx.post(f'{fleet.url}/api/robots/{A}/commands', json={'kind': 'say', 'text': 'hello'}, timeout=10)
    assert nobody.status_code == 401
    assert [c.command for c in a.controls].count('say') == 1       # only olga's reached the robot

    # olga hands back: A's banner goes back to 'watching', and the assistant answers the visitor's next question.
    olga.get_by_role('button', name='Hand back').click()
    expect(olga.locator('#robot-status')).to_have_text('Hand back: done.', timeout=10000)
    expect(olga.get_by_role('button', name='Take over')).to_be_visible()
    wait_for(lambda: staff(screen).startswith('watching:'), "A's banner back to 'watching'", 10)
    answers = len(a.spoken('answer'))
    screen.locator('#ask-input').fill(AFTER_QUESTION_VI)
    screen.locator('#ask-input').press('Enter')
    after = wait_for(lambda: a.spoken('answer')[answers:], "the assistant's answer after hand back", 15)[0]
    assert after.language == 'vi' and after.text != REPLY_VI
    expect(olga.locator('#transcript li.final[data-side="visitor"]').filter(has_text=AFTER_QUESTION_VI)
           ).to_have_count(1, timeout=10000)
    expect(olga.locator('#transcript li.reply')).to_have_count(2, timeout=10000)
    reply = olga.locator('#transcript li.reply .text').last.text_content()
    assert reply.startswith(after.text)
    expect(screen.locator('#answer-text')).to_have_text(reply, timeout=10000)

    # Every command the pages sent is in the audit log a supervisor reads: each sent one with the robot's ack,
    # each refused one with why (the acks are written as they arrive: wait until all are in).
    sent = [c for c in commands if c[2] == 202]

    def acks() -> int:
        return sum(1 for e in fleet.console.storage.audit_log(robot=A, limit=1000) if e['action'].startswith('ack:'))
    wait_for(lambda: acks() >= len(sent), 'the robot acks of every sent command in the audit log', 10)
    sam = sign_in(open_page, fleet.url, 'sam')
    sam.locator('#nav').get_by_role('link', name='Audit log').click()
    sam.get_by_label('Robot', exact=True).fill(A)
    sam.get_by_role('button', name='Filter').click()
    expect(sam.locator('#audit tr').first).to_be_visible()
    rows = sam.locator('#audit tr').evaluate_all(
        'rows => rows.map(r => [...r.cells].map(c => c.textContent))')
    logged = sorted((who, action, result) for _at, who, action, robot, _detail, result, _client in rows)
    reasons = {409: 'refused: held', 403: 'refused: forbidden'}
    expected = sorted([(who, kind, 'sent' if status == 202 else reasons[status]) for who, kind, status in commands]
                      + [(who, f'ack:{kind}', 'ok') for who, kind, status in sent]
                      + [('anonymous', 'say', 'refused: unauthenticated')])    # the sessionless say above
    assert logged == expected, (logged, expected)
    kinds = {(who, kind) for who, kind, _status in commands}
    assert {('olga', 'watch'), ('olga', 'take_over'), ('olga', 'say'), ('olga', 'hand_back'), ('minh', 'take_over'),
            ('vera', 'say')} <= kinds, kinds
    assert {robot for _at, _who, _action, robot, *_rest in rows} == {A}
    # Nothing the robots sent was lost on the way (events of different Zenoh priorities used to overtake each
    # other, and the console refused the overtaken one as a replay).
    assert fleet.link.drop_counts() == {}, fleet.link.drop_counts()
    said = [r for r in rows if r[1:3] == ['olga', 'say']]
    assert len(said) == 1 and REPLY_VI in said[0][4] and said[0][6] == '127.0.0.1'    # what was said, from where
