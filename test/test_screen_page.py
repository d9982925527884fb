"""The touchscreen page in a real headless browser (Debian's chromium driven by Playwright) against the real
screen node in a ROS graph: what a visitor sees and taps, the typed messages the taps become, its fonts in
all eleven scripts (screenshots under build/screen/), accessibility (axe-core) and touch-target sizes.

The probe plays the rest of the robot (ScreenCard, captions, speaking state): the page is checked against
the node's real frames, and each tap against the typed message the node publishes."""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from rclpy.parameter import Parameter
from std_msgs.msg import Bool

from caexpo_robot.language.languages import LANGUAGE_INFO, LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import (
    HeardSpeech,
    LanguageChosen,
    ScreenAction,
    ScreenCard,
    ScreenText,
    SpeechEvent,
    TypedQuestion,
)
from caexpo_robot.nodes.common import LATCHED
from caexpo_robot.nodes.screen_node import ScreenNode
from ros_harness import ros_graph

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / 'build' / 'screen'
XSS = '<img src=x onerror=window.__xss=1>'
MIN_TARGET_PX = 48
# The font each script is drawn with (style.css names them through @font-face local()).
SCRIPT_FONTS = {'Latin': 'Noto Sans', 'Thai': 'Noto Sans Thai', 'Myanmar': 'Noto Sans Myanmar',
                'Khmer': 'Noto Sans Khmer', 'Lao': 'Noto Sans Lao', 'Han': 'Noto Sans CJK SC',
                'Hangul': 'Noto Sans CJK KR'}
PB = Phrasebook.load()


def say(key: str, code: str, **values) -> str:
    return PB.say(key, code, **values).text


class Screen:
    """The real screen node, a probe for the rest of the robot, and a page open on the node."""
    def __init__(self, g, node, page) -> None:
        self.g, self.node, self.page = g, node, page
        self.chosen = g.listen_messages(LanguageChosen)
        self.typed = g.listen_messages(TypedQuestion)
        g.wait_until_heard(node.advertise(LanguageChosen), node.advertise(TypedQuestion))
        for model in (ScreenCard, HeardSpeech, SpeechEvent, ScreenText):
            g.wait_for_subscribers(g.typed_publisher(model))
        self.speaking = g.publisher('tts/speaking', Bool, LATCHED)
        g.wait_for_subscribers(self.speaking)
        page.goto(f'http://127.0.0.1:{node.port}/')
        self.until('document.querySelectorAll("#picker button").length === 11')

    def until(self, js: str, timeout: float = 10.0):
        """Spin the graph until `js` (an expression) is truthy in the page; its value."""
        value = None

        def check():
            nonlocal value
            value = self.page.evaluate(js)
            return bool(value)
        assert self.g.spin_until(check, timeout), f'never true in the page: {js}'
        return value

    def send(self, message) -> None:
        self.g.send(message)

    def card(self, kind: str, **fields) -> None:
        self.send(ScreenCard(t=1.0, kind=kind, **fields))
        mode = kind if kind in ('attract', 'greeting') else 'conversation'
        self.until(f'document.body.className === {json.dumps(mode)}')

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.text_content()


@pytest.fixture
def screen(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    factory = partial(ScreenNode, parameter_overrides=[Parameter('port', value=0)])
    context = browser.new_context(viewport={'width': 1280, 'height': 800}, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on('pageerror', lambda exc: errors.append(str(exc)))
    try:
        with ros_graph(factory) as g:
            yield Screen(g, g.nodes[0], page)
    finally:
        context.close()
    assert errors == [], errors


def test_welcome_and_language_picker_in_all_eleven_languages(screen):
    page = screen.page
    welcomes = page.locator('#welcomes li')
    assert welcomes.count() == 11
    assert [welcomes.nth(i).get_attribute('lang') for i in range(11)] == list(LANGUAGES)
    assert [welcomes.nth(i).text_content() for i in range(11)] == [say('screen_welcome', c) for c in LANGUAGES]
    buttons = page.locator('#picker button')
    assert [buttons.nth(i).text_content() for i in range(11)] == [LANGUAGE_INFO[c].native_name for c in LANGUAGES]
    assert screen.text('#privacy') == say('screen_privacy', 'en')
    assert page.locator('#ask-input').is_hidden()          # attract: welcome and picker only


def test_greeting_shows_the_opener_and_a_tapped_language_is_published(screen):
    page = screen.page
    screen.card('greeting', visitor='v7', languages=['th', 'en'])
    greetings = page.locator('#greetings li')
    assert greetings.count() == 2
    assert greetings.nth(0).text_content() == say('screen_welcome', 'th')
    assert greetings.nth(0).get_attribute('lang') == 'th'
    assert greetings.nth(1).text_content() == say('screen_welcome', 'en')
    assert page.locator('#welcome').is_hidden()
    page.locator('#picker button[data-lang="km"]').tap()
    assert screen.g.spin_until(lambda: screen.chosen)
    assert screen.chosen == [LanguageChosen(language='km', visitor='v7')]
    # the page speaks Khmer at once: its words and quick questions
    assert page.locator('#picker button[data-lang="km"]').get_attribute('aria-pressed') == 'true'
    assert screen.text('#send') == say('screen_send', 'km')
    assert page.locator('#quick button').first.text_content() == say('quick_toilets', 'km')


def test_typed_question_captions_and_the_answer_card(screen):
    page = screen.page
    screen.card('listening', visitor='v1', language='vi')
    assert screen.text('#state-text') == say('screen_listening', 'vi')
    question = 'Khu trí tuệ nhân tạo ở đâu?'
    page.fill('#ask-input', question)
    page.press('#ask-input', 'Enter')
    assert screen.g.spin_until(lambda: screen.typed)
    assert screen.typed == [TypedQuestion(text=question, language='vi', visitor='v1', via='typed')]
    assert screen.text('#captions li.visitor') == question
    assert page.input_value('#ask-input') == ''
    # the robot's side: what it says as it says it, and the full answer with its card
    screen.send(SpeechEvent(t=2.0, type='utterance_started', id='u1', language='vi', text='Đi thẳng 120 mét.'))
    screen.until('document.querySelector("#captions li.robot")?.textContent === "Đi thẳng 120 mét."')
    screen.speaking.publish(Bool(data=True))
    screen.until('document.getElementById("state").dataset.state === "speaking"')
    assert screen.text('#state-text') == say('screen_speaking', 'vi')
    way = ScreenAction(type='show_map', place='ai_zone', hall='D', floor=2, distance_m=120, bearing='right')
    screen.card('answer', visitor='v1', language='vi', text='Khu AI ở bên phải, cách 120 mét, tầng 2.',
                actions=[way])
    screen.until('document.querySelector("[data-action=show_map]")')
    assert screen.text('#answer-text') == 'Khu AI ở bên phải, cách 120 mét, tầng 2.'
    assert screen.text('.map .distance') == '120 m' and screen.text('.map .floor') == '2'
    assert screen.text('.map dt') == say('screen_distance', 'vi')
    assert page.locator('.map .arrow').get_attribute('data-rotation') == '90'
    assert 'rotate(90deg)' in page.locator('.map .arrow svg').get_attribute('style')
    # a visitor's partial recognition, then its final
    screen.send(HeardSpeech(text='còn nhà', language='vi', final=False))
    screen.until('document.querySelector("#captions li.visitor.partial")?.textContent === "còn nhà"')
    screen.send(HeardSpeech(text='còn nhà vệ sinh?', language='vi', final=True))
    screen.until('[...document.querySelectorAll("#captions li.visitor")].at(-1).textContent === "còn nhà vệ sinh?"')
    assert page.locator('#captions li.partial').count() == 0
    # a quick question is a tap in the visitor's language
    page.locator('#quick button[data-key="quick_food"]').tap()
    assert screen.g.spin_until(lambda: len(screen.typed) == 2)
    assert screen.typed[1] == TypedQuestion(text=say('quick_food', 'vi'), language='vi', visitor='v1', via='tap')


def test_lists_slots_booking_code_and_qr(screen):
    page = screen.page
    exhibitors = ScreenAction(type='show_exhibitors', items=[
        {'id': 'ex-1', 'name': 'Durian King', 'local_name': 'ราชาทุเรียน', 'hall_name': 'โซน B', 'booth': 'B-12'},
        {'id': 'ex-2', 'name': 'Rice Co', 'hall_name': 'โซน B', 'booth': 'B-20'}])
    slots = ScreenAction(type='offer_slots', exhibitor_id='ex-1', day='2026-09-17', slots=['10:00', '10:30', '11:00'])
    events = ScreenAction(type='show_events', day='2026-09-17',
                          items=[{'id': 'e1', 'start': '09:30', 'end': '10:30', 'title': 'พิธีเปิด', 'place': 'x'}])
    screen.card('answer', visitor='v2', language='th', text='ราชาทุเรียน บูธ B-12 ครับ',
                actions=[exhibitors, slots, events])
    screen.until('document.querySelectorAll(".slots button").length === 3')
    items = page.locator('.exhibitors li')
    assert items.count() == 2
    assert 'ราชาทุเรียน' in items.nth(0).text_content() and 'B-12' in items.nth(0).text_content()
    assert screen.text('.exhibitors h3') == say('screen_exhibitors', 'th')
    assert screen.text('.events li') == '09:30–10:30 พิธีเปิด'
    page.locator('.slots button[data-start="10:30"]').tap()
    assert screen.g.spin_until(lambda: screen.typed)
    assert screen.typed == [TypedQuestion(text=say('book_slot', 'th', time='10:30'), language='th', visitor='v2',
                                          via='tap')]
    booked = ScreenAction(type='meeting_booked', id='m1', code='9F3A1C', exhibitor_id='ex-1', start='10:30',
                          day='2026-09-17')
    screen.card('answer', visitor='v2', language='th', text='จองแล้วครับ รหัส 9F3A1C', actions=[booked])
    screen.until('document.querySelector(".booked img.qr")?.src.startsWith("data:image/svg+xml")')
    screen.until('document.querySelector(".booked img.qr").complete')
    assert screen.text('.booked .code') == '9F3A1C'
    assert screen.text('.booked h3') == say('screen_booking_code', 'th')
    assert page.evaluate('document.querySelector(".booked img.qr").naturalWidth') > 50


def test_hostile_text_is_shown_as_text(screen):
    page = screen.page
    screen.card('listening', visitor='v3', language='en')
    page.fill('#ask-input', XSS)
    page.locator('#send').tap()
    assert screen.g.spin_until(lambda: screen.typed)
    assert screen.typed[0].text == XSS
    screen.send(HeardSpeech(text=XSS, language='en', final=True))
    screen.send(SpeechEvent(t=2.0, type='utterance_started', id='u1', language='en', text=XSS))
    screen.send(ScreenText(text=XSS, language='en'))
    screen.card('answer', visitor='v3', language='en', text=XSS, actions=[
        ScreenAction(type='show_exhibitors', items=[{'name': XSS, 'hall_name': XSS, 'booth': XSS}]),
        ScreenAction(type='show_events', items=[{'start': XSS, 'end': '1', 'title': XSS}])])
    screen.until('document.querySelectorAll("#captions li").length >= 4')
    screen.g.spin_for(0.3)
    captions = page.locator('#captions li')
    assert [captions.nth(i).text_content() for i in range(captions.count())] == [XSS] * 4
    assert screen.text('#answer-text') == XSS
    assert page.evaluate('document.querySelectorAll("main img").length') == 0
    assert page.evaluate('typeof window.__xss') == 'undefined'


def test_every_script_has_its_font_screenshots_in_eleven_languages(screen):
    page = screen.page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / 'screen-attract.png'))
    written = []
    for code in LANGUAGES:
        font = SCRIPT_FONTS[LANGUAGE_INFO[code].script]
        way = ScreenAction(type='show_map', place='food_court', hall='B', floor=1, distance_m=80, bearing='ahead_left')
        slots = ScreenAction(type='offer_slots', exhibitor_id='ex-1', day='2026-09-17',
                             slots=['10:00', '10:30', '11:00'])
        screen.card('answer', visitor=f'v-{code}', language=code, text=say('quick_food', code), actions=[way, slots])
        screen.until(f'document.documentElement.lang === "{code}" && document.querySelector("#send").lang === "{code}"')
        assert screen.text('#send') == say('screen_send', code)
        loaded = page.evaluate(f"document.fonts.load('16px \"{font}\"', {json.dumps(say('screen_welcome', code))})"
                               ".then(faces => faces.map(f => f.status))")
        assert loaded and set(loaded) == {'loaded'}, (code, font, loaded)
        assert page.evaluate(f"document.fonts.check('16px \"{font}\"')"), (code, font)
        # the text is laid out with that font (a missing one would fall back to another family)
        path = SHOTS / f'screen-{code}.png'
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
        written.append(path.name)
    assert len(written) == 11


def test_accessibility_axe_and_touch_targets(screen):
    page = screen.page
    states = {
        'attract': lambda: None,
        'greeting': lambda: screen.card('greeting', visitor='v4', languages=['km', 'en']),
        'answer': lambda: screen.card('answer', visitor='v4', language='lo', text=say('quick_events', 'lo'), actions=[
            ScreenAction(type='show_map', place='p', floor=1, distance_m=40, bearing='left'),
            ScreenAction(type='offer_slots', exhibitor_id='ex-1', day='2026-09-17', slots=['10:00', '10:30']),
            ScreenAction(type='meeting_booked', id='m', code='A1B2C3', exhibitor_id='ex-1', start='10:30'),
            ScreenAction(type='offer_call_staff')]),
    }
    page.add_script_tag(url='/static/vendor/axe-core/axe.min.js')   # vendored, same origin (the page's CSP)
    report = {}
    for name, show in states.items():
        show()
        if name == 'answer':
            screen.until('document.querySelector(".booked img.qr")?.complete')
        result = page.evaluate('axe.run(document, {resultTypes: ["violations"]})'
                               '.then(r => r.violations.map(v => ({id: v.id, impact: v.impact, n: v.nodes.length})))')
        report[name] = result
        serious = [v for v in result if v['impact'] in ('serious', 'critical')]
        assert serious == [], (name, serious)
        small = page.evaluate(f'''[...document.querySelectorAll("button, input, [role=button]")]
            .filter(e => e.offsetParent !== null)
            .map(e => {{ const r = e.getBoundingClientRect();
                         return [e.id || e.textContent.slice(0, 20), r.width, r.height]; }})
            .filter(([, w, h]) => w < {MIN_TARGET_PX} || h < {MIN_TARGET_PX})''')
        assert small == [], (name, small)
        count = page.evaluate('[...document.querySelectorAll("button, input")].filter(e => e.offsetParent).length')
        assert count >= 11, (name, count)
    print('axe violations by state:', json.dumps(report, ensure_ascii=False))
