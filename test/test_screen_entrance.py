"""Acceptance: the touchscreen page in a real headless browser (Debian's chromium driven by Playwright) against
the REAL nodes of a simulated entrance on the wall clock: face_detector, interaction, tts (WAV files, each
utterance lasting its audio), screen, and the embedded reference assistant, in one ROS graph.

A probe publishes rendered camera frames of a visitor walking up to the robot (the astronaut photo
composited into the entrance, as the simulator does), so a visitor really engages; the executor spins in a
background thread while the test drives the page. Every assertion is on what the browser shows and on the
typed messages the real nodes exchange."""
from __future__ import annotations

import threading
import time
from functools import partial

import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import (
    CancelSpeech,
    FacesFrame,
    InteractionEvent,
    LanguageChosen,
    ScreenCard,
    SpeakRequest,
    SpeechEvent,
    TypedQuestion,
)
from caexpo_robot.nodes.common import SENSOR_DATA
from caexpo_robot.nodes.conversions import image_msg
from caexpo_robot.nodes.face_detector_node import FaceDetectorNode
from caexpo_robot.nodes.interaction_node import InteractionNode
from caexpo_robot.nodes.screen_node import ScreenNode
from caexpo_robot.nodes.tts_node import TtsNode
from caexpo_robot.sim.entrance import EntranceRenderer
from caexpo_robot.sim.scenario import VisitorPlan
from ros_harness import ros_graph

DAY = '2025-09-17'        # an expo day: the reference assistant's "today" (conftest's `assistant` fixture)
XSS = '<img src=x onerror=window.__xss=1>'
FPS = 10.0
OPENERS = ['zh', 'en']
PB = Phrasebook.load()
TIMEOUT_S = 15.0          # the longest wait for one step (a loaded 2-core machine: browser, detector, espeak-ng)


def say(key: str, code: str, **values) -> str:
    return PB.say(key, code, **values).text


@pytest.fixture(scope='module')
def approach():
    """Camera frames (640x480, 60° HFOV) of a visitor walking from 4 m to 1.2 m in front of the robot in
    1.5 s; the last frame is the visitor standing there, facing the robot."""
    plan = VisitorPlan('visitor', 'astronaut', 'th', ((0.0, 4.0, 0.5), (1.5, 1.2, 0.5)))
    renderer = EntranceRenderer(640, 480, 60.0, (plan,))
    return [renderer.render([('visitor', *plan.at(k / FPS))])[0] for k in range(int(1.5 * FPS) + 1)]


def wait(condition, what: str, timeout: float = TIMEOUT_S):
    """Poll `condition` (the executor spins in its own thread) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


class Entrance:
    """The real nodes, a probe (camera frames in, every typed message out) and a page open on the screen."""

    def __init__(self, g, page, frames) -> None:
        self.g, self.page, self.frames = g, page, frames
        self.detector, self.tts, self.interaction, self.screen = g.nodes
        self.events = g.listen_messages(SpeechEvent)
        self.requests = g.listen_messages(SpeakRequest)
        self.cards = g.listen_messages(ScreenCard)
        self.happenings = g.listen_messages(InteractionEvent)
        self.typed = g.listen_messages(TypedQuestion)
        self.chosen = g.listen_messages(LanguageChosen)
        self.cancels = g.listen_messages(CancelSpeech)
        self.camera = g.probe.create_publisher(Image, 'camera/image_raw', SENSOR_DATA)
        # Every wire of the entrance is matched before the visitor arrives (the probe listens to each too).
        wires = [(self.camera, 1), (self.detector.advertise(FacesFrame), 1),
                 (self.interaction.advertise(SpeakRequest), 2), (self.interaction.advertise(CancelSpeech), 2),
                 (self.interaction.advertise(ScreenCard), 2), (self.interaction.advertise(InteractionEvent), 1),
                 (self.tts.advertise(SpeechEvent), 3),
                 (self.screen.advertise(LanguageChosen), 2), (self.screen.advertise(TypedQuestion), 2)]
        for publisher, count in wires:
            g.wait_for_subscribers(publisher, count, timeout=10.0)
        self.frame_index = 0
        self.stop = threading.Event()
        self.spin_errors: list[BaseException] = []
        self.spinner = threading.Thread(target=self._spin, name='entrance-executor', daemon=True)
        self.spinner.start()
        page.goto(f'http://127.0.0.1:{self.screen.port}/')
        self.until('document.querySelectorAll("#picker button").length === 11')
        self.until('document.body.className === "attract"')

    def _spin(self) -> None:
        period, next_frame = 1.0 / FPS, time.monotonic()
        try:
            while not self.stop.is_set():
                if self.frame_index and time.monotonic() >= next_frame:
                    self._publish_frame()
                    next_frame += period
                self.g.executor.spin_once(timeout_sec=0.01)
        except BaseException as exc:   # reported by the test, not lost in the thread
            self.spin_errors.append(exc)

    def _publish_frame(self) -> None:
        frame = self.frames[min(self.frame_index - 1, len(self.frames) - 1)]
        self.camera.publish(image_msg(frame, self.detector.get_clock().now().to_msg(), 'camera'))
        self.frame_index += 1

    def close(self) -> None:
        self.stop.set()
        self.spinner.join(timeout=10)
        assert not self.spinner.is_alive(), 'the executor thread did not stop'
        assert self.spin_errors == [], self.spin_errors

    # -- the page --------------------------------------------------------------------------------
    def until(self, js: str, timeout: float = TIMEOUT_S) -> None:
        """Until the expression `js` is truthy in the page. Polled with page.evaluate (the devtools protocol):
        Playwright's wait_for_function evaluates a string inside the page, which the page's CSP (no
        'unsafe-eval') refuses whenever the first check is false."""
        wait(lambda: self.page.evaluate(js), f'in the page: {js}', timeout)

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.text_content()

    def texts(self, selector: str) -> list[str]:
        items = self.page.locator(selector)
        return [items.nth(i).text_content() for i in range(items.count())]

    # -- the robot -------------------------------------------------------------------------------
    def card(self, kind: str, after: int = 0) -> ScreenCard:
        return wait(lambda: next((c for c in self.cards[after:] if c.kind == kind), None), f'a {kind!r} card')

    def started(self, purpose: str, after: int = 0) -> SpeechEvent:
        """The first utterance of `purpose` that started playing after request number `after`."""
        def find():
            ids = {r.id for r in self.requests[after:] if r.tag.purpose == purpose}
            return next((e for e in list(self.events) if e.type == 'utterance_started' and e.id in ids), None)
        return wait(find, f'a {purpose!r} utterance playing')

    def engage(self) -> ScreenCard:
        """The visitor walks up; returns the interaction node's greeting card once the page shows it."""
        self.frame_index = 1
        greeting = self.card('greeting')
        self.until('document.body.className === "greeting"')
        return greeting

    def converse(self) -> ScreenCard:
        """Engaged, greeted, and the robot listening: the page is in conversation (its text box shown)."""
        self.engage()
        listening = self.card('listening')
        self.until('document.body.className === "conversation"')
        return listening

    def ask(self, text: str) -> int:
        """Type `text` and send it as a visitor would; the number of speak requests before it."""
        before = len(self.requests)
        self.page.locator('#ask-input').tap()
        self.page.fill('#ask-input', text)
        self.page.press('#ask-input', 'Enter')
        return before


@pytest.fixture
def entrance(browser, assistant, approach, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # a node that wrote a relative path would write here, not in the repo
    monkeypatch.setenv('CAEXPO_ASSISTANT_TOKEN', assistant.robot_token('greeter-1'))   # the interaction node's robot
    robot = [   # g.nodes in this order
        FaceDetectorNode,
        partial(TtsNode, parameter_overrides=[Parameter('audio_output', value='file'),
                                              Parameter('wav_dir', value=str(tmp_path / 'speech'))]),
        partial(InteractionNode, parameter_overrides=[
            Parameter('opener_languages', value=OPENERS),
            Parameter('assistant_url', value=assistant.url),
            # Nobody prompts or says goodbye to a visitor who reads the screen while a step is checked.
            Parameter('listen_timeout_s', value=60.0),
            # The reference assistant answers in ms; a loaded test machine must not turn that into canned replies.
            Parameter('assistant_deadline_s', value=8.0), Parameter('thinking_timeout_s', value=9.0)]),
        partial(ScreenNode, parameter_overrides=[Parameter('port', value=0)]),
    ]
    context = browser.new_context(viewport={'width': 1280, 'height': 800}, has_touch=True)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on('pageerror', lambda exc: errors.append(str(exc)))
        with ros_graph(*robot) as g:
            entrance = Entrance(g, page, approach)
            try:
                yield entrance
            finally:
                context.close()    # the page goes first: the screen node then stops with no connection open
                entrance.close()
    finally:
        context.close()
    assert errors == [], errors


def test_a_visitor_engages_the_page_greets_them_and_a_tapped_language_is_the_robots_next(entrance):
    page = entrance.page
    greeting = entrance.engage()
    # The page: the welcome in the opener languages (the interaction node's card) and the picker.
    assert greeting.languages == OPENERS and greeting.visitor
    engaged = wait(lambda: [e for e in entrance.happenings if e.type == 'visitor_engaged'], 'visitor_engaged')
    assert greeting.visitor == engaged[0].visitor
    assert entrance.texts('#greetings li') == [say('screen_welcome', code) for code in OPENERS]
    assert [page.locator('#greetings li').nth(i).get_attribute('lang') for i in range(2)] == OPENERS
    assert page.locator('#welcome').is_hidden()
    assert page.locator('#picker button').count() == 11 and page.locator('#picker button[data-lang="th"]').is_visible()
    # The robot says a short hello in the first opener language, shown as it says it.
    hello = entrance.started('greeting')
    assert (hello.language, hello.text) == ('zh', say('hello', 'zh'))
    entrance.until(f'[...document.querySelectorAll("#captions li.robot")].some(li => li.textContent === '
                   f'{hello.text!r})')

    # The visitor taps Thai: the robot's next utterance is Thai, and the page speaks Thai.
    requests_before = len(entrance.requests)
    page.locator('#picker button[data-lang="th"]').tap()
    wait(lambda: entrance.chosen, 'the LanguageChosen of the tap')
    assert entrance.chosen == [LanguageChosen(language='th', visitor=greeting.visitor)]

    def next_started():
        ours = {r.id for r in entrance.requests[requests_before:]}
        return next((e for e in list(entrance.events) if e.type == 'utterance_started' and e.id in ours), None)
    spoken = wait(next_started, 'the next utterance')
    assert spoken.language == 'th'
    assert spoken.text == say('use_screen', 'th')      # Thai cannot be heard here (no asr): "please type", in Thai
    entrance.until('document.documentElement.lang === "th" && document.body.className === "conversation"')
    entrance.until(f'[...document.querySelectorAll("#captions li.robot")].at(-1)?.textContent === {spoken.text!r}')
    assert entrance.text('#send') == say('screen_send', 'th')
    assert entrance.text('#privacy') == say('screen_privacy', 'th')
    assert entrance.texts('#quick button')[0] == say('quick_toilets', 'th')
    assert page.locator('#picker button[data-lang="th"]').get_attribute('aria-pressed') == 'true'


def test_a_typed_question_shows_the_visitors_caption_the_answer_card_and_the_robots_words(entrance):
    page = entrance.page
    listening = entrance.converse()
    question = 'หิวแล้ว ร้านอาหารอยู่ที่ไหนครับ'
    cards_before = len(entrance.cards)
    requests_before = entrance.ask(question)
    wait(lambda: entrance.typed, 'the typed question')
    assert entrance.typed == [TypedQuestion(text=question, language=None, visitor=listening.visitor, via='typed')]
    assert entrance.texts('#captions li.visitor') == [question]
    # The reference assistant's answer (identified as Thai from the text): its full text and map card on the page...
    answer = entrance.card('answer', after=cards_before)
    assert answer.language == 'th' and answer.visitor == listening.visitor
    [way] = [a for a in answer.actions if a.type == 'show_map']
    assert way.place == 'food_court'
    entrance.until('document.querySelector("[data-action=show_map]") !== null')
    assert entrance.text('#answer-text') == answer.text
    assert entrance.text('.map .distance') == f'{round(way.distance_m)} m'
    assert entrance.text('.map .floor') == str(way.floor)
    assert page.locator('#answer').is_visible()
    # ...and what the robot says of it (its compact spoken form), as a caption while it says it.
    said = entrance.started('answer', after=requests_before)
    assert said.language == 'th' and said.text and said.text in answer.text
    entrance.until(f'[...document.querySelectorAll("#captions li.robot")].at(-1)?.textContent === {said.text!r}')
    entrance.until('document.getElementById("state").dataset.state === "speaking"')
    assert entrance.texts('#captions li.visitor') == [question]


def test_a_meeting_is_offered_as_slots_and_a_tapped_slot_then_the_name_book_it_with_its_code_and_qr(entrance, http):
    page = entrance.page
    listening = entrance.converse()
    cards_before = len(entrance.cards)
    entrance.ask('I would like to book a meeting with Angkor Golden Rice.')
    offer = entrance.card('answer', after=cards_before)
    [slots] = [a for a in offer.actions if a.type == 'offer_slots']
    assert (slots.exhibitor_id, slots.day) == ('angkor-golden-rice', DAY) and '10:30' in slots.slots
    entrance.until(f'document.querySelectorAll(".slots button").length === {len(slots.slots)}')
    assert entrance.texts('.slots button') == slots.slots

    cards_before = len(entrance.cards)
    requests_before = len(entrance.requests)
    page.locator('.slots button[data-start="10:30"]').tap()
    wait(lambda: len(entrance.typed) == 2, 'the tapped slot as a question')
    assert entrance.typed[1] == TypedQuestion(text=say('book_slot', 'en', time='10:30'), language='en',
                                              visitor=listening.visitor, via='tap')
    # The assistant asks the visitor's name before it books; the visitor types it on the screen.
    asked = entrance.card('answer', after=cards_before)
    assert '10:30' in asked.text and not [a for a in asked.actions if a.type == 'meeting_booked'], asked
    cards_before = len(entrance.cards)
    requests_before = len(entrance.requests)
    entrance.ask('My name is Anna Lee')
    booked_card = entrance.card('answer', after=cards_before)
    [booked] = [a for a in booked_card.actions if a.type == 'meeting_booked']
    assert (booked.exhibitor_id, booked.day, booked.start) == ('angkor-golden-rice', DAY, '10:30')
    assert booked.code and booked.code in booked_card.text
    # The robot says that it is booked and when ("Co., Ltd." in the name does not end its sentence).
    said = entrance.started('answer', after=requests_before)
    assert 'booked' in said.text and '10:30' in said.text, said.text
    entrance.until(f'[...document.querySelectorAll("#captions li.robot")].at(-1)?.textContent === {said.text!r}')
    # The page: the booking code and a QR image of it (made on the robot).
    entrance.until('document.querySelector(".booked img.qr")?.src.startsWith("data:image/svg+xml")')
    entrance.until('document.querySelector(".booked img.qr").complete')
    assert entrance.text('.booked .code') == booked.code
    assert entrance.text('.booked h3') == say('screen_booking_code', 'en')
    assert page.evaluate('document.querySelector(".booked img.qr").naturalWidth') > 50
    assert page.locator('.booked img.qr').get_attribute('alt') == f'QR {booked.code}'
    # Booked for real in the assistant: that slot is no longer free.
    free = {s['start']: s['free'] for s in http.get('/v1/exhibitors/angkor-golden-rice/slots',
                                                       params={'day': DAY}).json()}
    assert free['10:30'] is False and free['10:00'] is True


def test_a_tap_while_the_robot_speaks_stops_it(entrance):
    page = entrance.page
    entrance.converse()
    requests_before = entrance.ask('Which companies sell durian?')
    playing = entrance.started('answer', after=requests_before)     # a list of names: several seconds of speech
    assert playing.duration_s > 2.0
    entrance.until('document.querySelector("[data-action=show_exhibitors]") !== null')
    cancels_before = len(entrance.cancels)
    tapped_at = time.monotonic()
    page.locator('#quick button[data-key="quick_toilets"]').tap()
    stopped = wait(lambda: next((e for e in list(entrance.events) if e.id == playing.id and e.type in (
        'utterance_cancelled', 'utterance_finished')), None), 'the playing answer to end')
    stopped_after = time.monotonic() - tapped_at
    assert stopped.type == 'utterance_cancelled', stopped          # cut, not finished
    assert stopped_after < playing.duration_s, stopped_after
    assert any(c.id == playing.id for c in entrance.cancels[cancels_before:])
    assert not any(e.id == playing.id and e.type == 'utterance_finished' for e in list(entrance.events))
    # The tapped question is the visitor's next: shown, sent as a tap, and answered.
    assert entrance.typed[-1].via == 'tap' and entrance.typed[-1].text == say('quick_toilets', 'en')
    assert entrance.texts('#captions li.visitor')[-1] == say('quick_toilets', 'en')
    entrance.started('answer', after=requests_before + 1)


def test_hostile_typed_text_is_shown_as_text(entrance):
    page = entrance.page
    entrance.converse()
    cards_before = len(entrance.cards)
    entrance.ask(XSS)
    wait(lambda: entrance.typed, 'the typed text')
    assert entrance.typed[0].text == XSS
    answer = entrance.card('answer', after=cards_before)       # the assistant answered it (not understood)
    entrance.until(f'document.getElementById("answer-text").textContent === {answer.text!r}')
    assert entrance.texts('#captions li.visitor') == [XSS]
    assert page.evaluate('document.querySelectorAll("main img").length') == 0
    assert page.evaluate('typeof window.__xss') == 'undefined'
