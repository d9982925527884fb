"""Issue 13's acceptance, end to end on real components at the API level (the browser test drives the same
fleet through the console's pages): two simulated robots, each in its own namespace with its own Zenoh
session, one console; an operator sees both online, watches a visitor's typed question and the assistant's
answer reach robot A's transcript with their language, opens A's view (the 'staff member watching' banner on
A's screen, a thumbnail with the visitor's face blurred), takes A over, says a reply that A speaks (its tts
events) and shows (its screen page: the text and the 'staff member speaking' banner), a visitor's question
while held goes to the operator and not to the assistant, hands back, and the assistant answers the next
question. A second operator's take over is refused with the holder (409), a viewer's say (403), no
session (401); every command is in the audit log. Robot B serves its own visitor throughout, untouched.
"""
from __future__ import annotations

import cv2
import httpx
import numpy as np
import pytest

from polling import wait_for
from telepresence_harness import STAFF, ScreenPage, telepresence_fleet

A, B = 'greeter-a', 'greeter-b'
QUESTION_VI = 'Xin chào, nhà vệ sinh ở đâu?'
REPLY_VI = 'Chào bạn, tôi là nhân viên. Nhà vệ sinh ở bên trái cổng số hai.'
HELD_QUESTION_VI = 'Tôi có thể mua nước ở đâu?'
AFTER_QUESTION_VI = 'Cảm ơn. Phòng y tế ở đâu?'
QUESTION_B = 'Where are the toilets?'


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    with telepresence_fleet(tmp_path_factory.mktemp('fleet'), (A, B), staff=STAFF) as running:
        yield running


def lines(client: httpx.Client, robot_id: str) -> list[dict]:
    return client.get(f'/api/robots/{robot_id}/transcript').json()['lines']


def line(client: httpx.Client, robot_id: str, side: str, text: str) -> dict | None:
    return next((x for x in lines(client, robot_id) if x['side'] == side and x['text'] == text), None)


def command(client: httpx.Client, headers: dict, robot_id: str, kind: str, **body) -> httpx.Response:
    return client.post(f'/api/robots/{robot_id}/commands', json={'kind': kind, **body}, headers=headers)


def acked(fleet, kind: str, command_id: str) -> dict | None:
    return next((e for e in fleet.console.storage.audit_log(action=f'ack:{kind}')
                 if e['detail'].get('command_id') == command_id), None)


def test_operator_takes_over_speaks_through_and_hands_back_robot_a(fleet):
    a, b = fleet.robots[A], fleet.robots[B]
    olga, olga_csrf = fleet.login('olga')

    # The fleet view: both robots online (their heartbeats over their own Zenoh sessions), nobody holding them.
    def fleet_view():
        robots = {r['robot_id']: r for r in olga.get('/api/robots').json()['robots']}
        return robots if all(r['online'] for r in robots.values()) and set(robots) == {A, B} else None
    robots = wait_for(fleet_view, 'both robots online in the console', 15)
    assert robots[A]['holder'] is None and robots[B]['holder'] is None

    # A visitor steps up to each robot, is detected, engaged and greeted; both type on the robots' screens.
    page_a, page_b = ScreenPage(a.screen_url), ScreenPage(b.screen_url)
    try:
        a.visitor_steps_up()
        b.visitor_steps_up()
        wait_for(lambda: a.events_of('listening_started') and b.events_of('listening_started'),
                 'both robots greeting their visitor and listening', 20)
        page_a.ask(QUESTION_VI)

        # The conversation reaches A's transcript in the console: the visitor's words and the assistant's
        # answer, each tagged with its language.
        visitor_line = wait_for(lambda: line(olga, A, 'visitor', QUESTION_VI), "the visitor's question in A's "
                                'transcript', 10)
        assert visitor_line['language'] == 'vi' and visitor_line['final'] is True
        answer = wait_for(lambda: a.spoken('answer'), "the assistant's answer spoken by A", 10)[0]
        assert answer.language == 'vi'
        robot_line = wait_for(lambda: line(olga, A, 'robot', answer.text), "A's answer in the transcript", 10)
        assert robot_line['language'] == 'vi' and robot_line['conversation'] == visitor_line['conversation']
        assert wait_for(lambda: [x for x in lines(olga, A) if x['kind'] == 'reply'], 'the reply line', 5)[0][
            'source'] == 'backend'

        # olga opens A's view: A's screen says a staff member is watching, and the camera's thumbnail
        # arrives with the visitor's face blurred on the robot.
        watched = command(olga, olga_csrf, A, 'watch', watching=True)
        assert watched.status_code == 202, watched.text
        wait_for(lambda: (page_a.state() or {}).get('staff') == 'watching', "A's screen banner 'watching'", 5)
        thumb = wait_for(lambda: (r := olga.get(f'/api/robots/{A}/thumbnail')).status_code == 200 and r,
                         "A's thumbnail", 10)
        image = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
        assert thumb.headers['content-type'] == 'image/jpeg' and image.shape[1] == 320
        assert fleet.console.hub.thumbnail(A)['faces_blurred'] == 1
        frame, truth = a.camera.renderer.render([('visitor', 1.2, 0.5)])     # what A's camera shows, unblurred
        sharp = cv2.cvtColor(cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        sent = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        x, y, w, h = (round(v * size) for v, size in zip(truth['visitor'], (320, 240, 320, 240), strict=True))
        detail = [cv2.Laplacian(img[y:y + h, x:x + w], cv2.CV_64F).var() for img in (sharp, sent)]
        banner = [cv2.Laplacian(img[12:38, 26:294], cv2.CV_64F).var() for img in (sharp, sent)]
        # The face's fine detail is gone (measured: Laplacian variance ~2100 -> ~4), the hall's banner keeps
        # its (~5000 -> ~4300 after JPEG): blurred where the face is, not everywhere.
        assert detail[1] < 0.05 * detail[0], detail
        assert banner[1] > 0.5 * banner[0], banner
        assert olga.get(f'/api/robots/{B}/thumbnail').status_code == 404     # nobody watches B: none sent

        # olga takes A over: the robot acknowledges, the console shows her as the holder, and A's screen says
        # a staff member is speaking.
        took = command(olga, olga_csrf, A, 'take_over', reason='visitor asked for a person')
        assert took.status_code == 202, took.text
        took_id = took.json()['command_id']
        wait_for(lambda: acked(fleet, 'take_over', took_id), "A's ack of the take over", 10)
        assert acked(fleet, 'take_over', took_id)['result'] == 'ok'
        wait_for(lambda: olga.get(f'/api/robots/{A}').json()['state'].get('takeover_owner') == 'olga',
                 "A's heartbeat reporting olga as the owner", 5)
        assert olga.get(f'/api/robots/{A}').json()['holder'] == 'olga'
        wait_for(lambda: (page_a.state() or {}).get('staff') == 'speaking', "A's screen banner 'speaking'", 5)
        assert [c.command for c in a.controls] == ['watch', 'take_over']

        # A second operator is refused with the holder, a viewer may not speak through a robot, and without a
        # session nothing is accepted.
        minh, minh_csrf = fleet.login('minh')
        refused = command(minh, minh_csrf, A, 'take_over')
        assert refused.status_code == 409, refused.text
        assert refused.json()['error']['holder'] == 'olga'
        vera, vera_csrf = fleet.login('vera')
        forbidden = command(vera, vera_csrf, A, 'say', text='hello')
        assert forbidden.status_code == 403 and forbidden.json()['error']['code'] == 'forbidden'
        with httpx.Client(base_url=fleet.url, timeout=10) as anonymous:
            nobody = command(anonymous, {}, A, 'say', text='hello')
        assert nobody.status_code == 401
        assert [c.command for c in a.controls] == ['watch', 'take_over']     # none of them reached the robot

        # olga's reply: said by A in the visitor's language (the tts node's events), shown on A's screen, in
        # the transcript as the operator's.
        said = command(olga, olga_csrf, A, 'say', text=REPLY_VI)
        assert said.status_code == 202, said.text
        spoken = wait_for(lambda: [e for e in a.spoken('operator') if e.text == REPLY_VI], 'A saying the reply',
                          15)[0]
        assert spoken.language == 'vi'
        wait_for(lambda: any(f.get('kind') == 'answer' and f.get('text') == REPLY_VI and f.get('staff') == 'speaking'
                             for f in page_a.of_type('card')), "the reply on A's screen with the banner", 5)
        assert (page_a.state() or {}).get('staff') == 'speaking'
        operator_line = wait_for(lambda: line(olga, A, 'operator', REPLY_VI), "the operator's line", 5)
        assert (operator_line['operator'], operator_line['language']) == ('olga', 'vi')
        wait_for(lambda: acked(fleet, 'say', said.json()['command_id']), "A's ack of the say", 5)

        # While A is held the visitor's words go to the operator, not to the assistant.
        asked_before = len(a.events_of('question_sent'))
        page_a.ask(HELD_QUESTION_VI)
        wait_for(lambda: line(olga, A, 'visitor', HELD_QUESTION_VI), 'the held question in the transcript', 10)
        heard = wait_for(lambda: [e for e in a.events_of('utterance_heard') if e.text == HELD_QUESTION_VI],
                         'A hearing the held question', 5)[0]
        assert 'olga' in (heard.detail or '')
        assert len(a.events_of('question_sent')) == asked_before

        # Meanwhile robot B serves its own visitor with the assistant, as if nothing happened at A.
        page_b.ask(QUESTION_B)
        answer_b = wait_for(lambda: b.spoken('answer'), "B's answer from the assistant", 10)[0]
        assert answer_b.language == 'en'
        wait_for(lambda: line(olga, B, 'visitor', QUESTION_B), "B's visitor in B's transcript", 5)

        # olga hands back: autonomy resumes, the banner goes, and the assistant answers the next question.
        handed = command(olga, olga_csrf, A, 'hand_back')
        assert handed.status_code == 202, handed.text
        wait_for(lambda: acked(fleet, 'hand_back', handed.json()['command_id']), "A's ack of the hand back", 10)
        wait_for(lambda: olga.get(f'/api/robots/{A}').json()['holder'] is None, 'A no longer held', 5)
        wait_for(lambda: (page_a.state() or {}).get('staff') == 'watching', "A's banner back to 'watching'", 5)
        unwatched = command(olga, olga_csrf, A, 'watch', watching=False)
        assert unwatched.status_code == 202, unwatched.text
        wait_for(lambda: acked(fleet, 'watch', unwatched.json()['command_id']), "A's ack of the unwatch", 5)
        wait_for(lambda: (page_a.state() or {}).get('staff') is None, "A's banner gone", 5)
        answers_before = len(a.spoken('answer'))
        page_a.ask(AFTER_QUESTION_VI)
        after = wait_for(lambda: a.spoken('answer')[answers_before:], "the assistant's answer after hand back",
                         15)[0]
        assert after.language == 'vi'
        asked = [e for e in a.events_of('question_sent') if e.text == AFTER_QUESTION_VI]
        assert len(asked) == 1 and asked[0].language == 'vi'
        wait_for(lambda: line(olga, A, 'robot', after.text), 'the answer after hand back in the transcript', 5)

        # Robot B: never commanded, never held, never said or showed anything of A's conversation.
        assert b.controls == []
        assert not any(e.type.startswith('operator_') for e in list(b.events))
        assert not b.spoken('operator')
        assert all(c.staff is None for c in list(b.cards))
        b_texts = {x['text'] for x in lines(olga, B)}
        assert not b_texts & {QUESTION_VI, REPLY_VI, HELD_QUESTION_VI, AFTER_QUESTION_VI, answer.text}
        assert olga.get(f'/api/robots/{B}').json()['holder'] is None
        assert {x['text'] for x in lines(olga, A)}.isdisjoint({QUESTION_B, answer_b.text})
    finally:
        page_a.close()
        page_b.close()

    # Every command is in the audit log, read by a supervisor: sent ones with their robot's ack, refused
    # ones with why; operators may not read it.
    sam, _ = fleet.login('sam')
    entries = sam.get('/api/audit', params={'robot': A, 'limit': 1000}).json()['entries']
    summary = [(e['actor'], e['action'], e['result']) for e in reversed(entries)]
    assert summary == [
        ('olga', 'watch', 'sent'), ('olga', 'ack:watch', 'ok'),
        ('olga', 'take_over', 'sent'), ('olga', 'ack:take_over', 'ok'),
        ('minh', 'take_over', 'refused: held'),
        ('vera', 'say', 'refused: forbidden'),
        ('anonymous', 'say', 'refused: unauthenticated'),     # no session: refused, and audited too
        ('olga', 'say', 'sent'), ('olga', 'ack:say', 'ok'),
        ('olga', 'hand_back', 'sent'), ('olga', 'ack:hand_back', 'ok'),
        ('olga', 'watch', 'sent'), ('olga', 'ack:watch', 'ok'),
    ], summary
    take_over = next(e for e in entries if e['action'] == 'take_over' and e['actor'] == 'olga')
    assert take_over['detail']['reason'] == 'visitor asked for a person'
    assert take_over['client'] == '127.0.0.1'
    assert next(e for e in entries if e['action'] == 'say' and e['actor'] == 'olga')['detail']['text'] == REPLY_VI
    assert sam.get('/api/audit', params={'robot': B}).json()['entries'] == []
    assert olga.get('/api/audit').status_code == 403
