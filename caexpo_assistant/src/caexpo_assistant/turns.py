"""The conversational turn: route free text by keywords to the expo functions and answer in the visitor's language.

Keyword routing is deliberately simple and predictable (the ASR output is short and noisy); the
order below resolves overlaps, e.g. "where is the food court" is the food FAQ, not generic directions.
Each reply has a compact spoken form beside its full text (the robot says it; the screen shows the
text and the actions): lists say the top three by name only; any other reply says its first
sentences within about 10 s of speech (contract.spoken_form).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from caexpo_robot.backend.contract import INTENTS, SPOKEN_CHARS, spoken_form  # noqa: F401  (INTENTS: answers)

from . import service
from .catalog import Catalog
from .storage import Storage
from .text import normalize

FAQ_TOPICS = ('hours', 'badge', 'wifi', 'transport', 'food', 'lost_found', 'first_aid', 'prayer')
PLACE_TOPICS = ('badge', 'transport', 'food', 'lost_found', 'first_aid', 'prayer')
_TIME = re.compile(r'(?<!\d)([01]?\d|2[0-3])\s*[:h.]\s*([0-5]\d)(?!\d)')
_SHOWN = 3  # exhibitors and slots read out per reply; the full list travels in the action


@dataclass
class TurnResult:
    reply: str
    intent: str
    actions: list[dict] = field(default_factory=list)
    end_session: bool = False
    topic: str | None = None
    spoken: str | None = None   # a list's compact spoken form (else the first sentences of `reply`)

    def spoken_in(self, language: str) -> str:
        """What the robot says: at most about 10 s of speech in `language`."""
        return spoken_form(self.spoken or self.reply, language)


class Conversation:
    def __init__(self, storage: Storage, catalog: Catalog, session: dict, today: str):
        self.storage, self.catalog, self.session, self.today = storage, catalog, session, today

    def answer(self, text: str, language: str, visitor: dict | None, key: str | None) -> TurnResult:
        c, t = self.catalog, normalize(text)
        ranked = c.search_exhibitors(t, language)
        if c.mentions(t, language, 'staff'):
            return self.call_staff(language, key, reason=text[:200])
        if c.mentions(t, language, 'cancel'):
            return self.cancel(language, key)
        if c.mentions(t, language, 'meeting'):
            return self.meeting(t, language, visitor, key)
        # "durian from Malaysia" is matchmaking; "Malaysia" alone with "where" is the pavilion.
        place = c.find_place(t, language, countries=not c.find_tags(t, language))
        asks_way = c.mentions(t, language, 'directions')
        if place and asks_way:
            return self.directions(place, language)
        if c.mentions(t, language, 'events'):
            return self.events(language)
        for topic in FAQ_TOPICS:
            if c.mentions(t, language, topic):
                return self.faq(topic, language)
        if place and not ranked:
            return self.directions(place, language)
        if ranked or c.mentions(t, language, 'matchmaking'):
            return self.matchmaking(ranked, language)
        if asks_way:
            return TurnResult(c.template(language, 'directions_unknown'), 'unknown',
                              [{'type': 'offer_call_staff'}])
        if c.mentions(t, language, 'goodbye'):
            return TurnResult(c.template(language, 'goodbye'), 'goodbye', end_session=True)
        return TurnResult(c.template(language, 'unknown'), 'unknown', [{'type': 'offer_call_staff'}])

    # -- functions -------------------------------------------------------------------------------
    def _entrance(self) -> str:
        return self.session['entrance']

    def faq(self, topic: str, language: str) -> TurnResult:
        c = self.catalog
        values = dict(c.facts)
        values.update(first_day=c.format_date(language, c.doc['expo']['days'][0]),
                      last_day=c.format_date(language, c.doc['expo']['days'][-1]))
        actions = []
        if topic in PLACE_TOPICS:
            place = c.facts[f'{topic}_place']
            way = c.direction(self._entrance(), place, language)
            values.update(place=c.place_name(place, language), direction=way.text)
            actions.append(self._map_action(place, way))
        return TurnResult(c.template(language, topic).format(**values), 'faq', actions, topic=topic)

    def _map_action(self, place: str, way) -> dict:
        p = self.catalog.places[place]
        return {'type': 'show_map', 'place': place, 'hall': p['hall'], 'floor': p['floor'],
                'from_entrance': self._entrance(), 'distance_m': way.distance_m, 'bearing': way.bearing}

    def directions(self, place: str, language: str) -> TurnResult:
        c = self.catalog
        way = c.direction(self._entrance(), place, language)
        reply = c.template(language, 'directions').format(place=c.place_name(place, language), direction=way.text)
        return TurnResult(reply, 'directions', [self._map_action(place, way)])

    def matchmaking(self, ranked: list[tuple[dict, int]], language: str) -> TurnResult:
        c = self.catalog
        if not ranked:
            return TurnResult(c.template(language, 'exhibitors_none'), 'matchmaking', [{'type': 'offer_call_staff'}])
        shown = [ex for ex, _ in ranked[:_SHOWN]]
        items = c.word(language, 'list_sep').join(c.exhibitor_item(ex, language) for ex in shown)
        reply = c.template(language, 'exhibitors').format(count=len(ranked), items=items)
        self._remember_exhibitor(shown[0]['id'])
        action = {'type': 'show_exhibitors',
                  'items': [{**c.exhibitor_public(ex, language), 'score': score} for ex, score in ranked]}
        spoken = _top(language, [c.localized(ex['names'], language) for ex in shown], c.word(language, 'list_sep'),
                      lambda names: _head(c.template(language, 'exhibitors')).format(count=len(ranked), items=names))
        return TurnResult(reply, 'matchmaking', [action], spoken=spoken)

    def _remember_exhibitor(self, exhibitor_id: str) -> None:
        # "book 10:30" in the next turn refers to this exhibitor; write only when it changes.
        if self.session['context'].get('exhibitor') != exhibitor_id:
            service.save_context(self.storage, self.session['session_id'],
                                 {**self.session['context'], 'exhibitor': exhibitor_id})

    def _target_exhibitor(self, t: str, language: str) -> str | None:
        named = self.catalog.find_exhibitor_by_name(t, language)
        if named:
            return named
        ranked = self.catalog.search_exhibitors(t, language)
        if ranked:
            return ranked[0][0]['id']
        return self.session['context'].get('exhibitor')

    def meeting(self, t: str, language: str, visitor: dict | None, key: str | None) -> TurnResult:
        c = self.catalog
        exhibitor_id = self._target_exhibitor(t, language)
        if exhibitor_id is None:
            return TurnResult(c.template(language, 'need_exhibitor'), 'meeting_slots')
        ex = c.exhibitors[exhibitor_id]
        name = c.localized(ex['names'], language)
        free = [s for s in service.slots(self.storage, c, exhibitor_id, self.today) if s['free']]
        wanted = _TIME.search(t)
        if wanted is None:
            self._remember_exhibitor(exhibitor_id)
            if not free:
                return TurnResult(c.template(language, 'slots_none').format(
                    exhibitor=name, day=c.format_date(language, self.today)), 'meeting_slots',
                                  [{'type': 'offer_call_staff'}])
            times = c.word(language, 'list_sep').join(s['start'] for s in free[:_SHOWN + 1])
            return TurnResult(c.template(language, 'slots').format(
                exhibitor=name, slots=times, day=c.format_date(language, self.today)), 'meeting_slots',
                              [{'type': 'offer_slots', 'exhibitor_id': exhibitor_id, 'day': self.today,
                                'slots': [s['start'] for s in free]}])
        start = f'{int(wanted[1]):02d}:{wanted[2]}'
        visitor = {**(self.session['visitor'] or {}), **(visitor or {})}
        body = {'exhibitor_id': exhibitor_id, 'day': self.today, 'start': start,
                'visitor_name': visitor.get('name') or f'visitor at {self.session["entrance"]}',
                'contact': visitor.get('contact'), 'language': language,
                'session_id': self.session['session_id'], 'robot_id': self.session['robot_id']}
        try:
            status, result = service.book_meeting(self.storage, c, body, key and f'turn:{key}')
        except service.ApiError as exc:
            if exc.code != 'not_a_slot':
                raise
            status, result = 409, {}
        if status == 201:
            reply = c.template(language, 'booked').format(
                exhibitor=name, start=result['start'], day=c.format_date(language, result['day']),
                booth=ex['booth'], hall=c.place_name(ex['hall'], language), code=result['code'])
            return TurnResult(reply, 'meeting_booked', [{'type': 'meeting_booked', **result}])
        others = [s['start'] for s in free if s['start'] != start][:_SHOWN + 1]
        reply = c.template(language, 'taken').format(exhibitor=name, start=start,
                                                     slots=c.word(language, 'list_sep').join(others))
        return TurnResult(reply, 'meeting_taken', [{'type': 'offer_slots', 'exhibitor_id': exhibitor_id,
                                                    'day': self.today, 'slots': others}])

    def cancel(self, language: str, key: str | None) -> TurnResult:
        c = self.catalog
        meeting = service.latest_meeting_of_session(self.storage, self.session['session_id'])
        if meeting is None:
            return TurnResult(c.template(language, 'no_meeting'), 'meeting_cancelled')
        _, result = service.cancel_meeting(self.storage, c, meeting['id'], key and f'turn:{key}')
        ex = c.exhibitors.get(result['exhibitor_id'])
        reply = c.template(language, 'cancelled').format(
            exhibitor=c.localized(ex['names'], language) if ex else result['exhibitor_id'], start=result['start'])
        return TurnResult(reply, 'meeting_cancelled', [{'type': 'meeting_cancelled', **result}])

    def events(self, language: str) -> TurnResult:
        c = self.catalog
        events = c.events_on(self.today)
        if not events:
            return TurnResult(c.template(language, 'events_none').format(day=c.format_date(language, self.today)),
                              'events')
        items = c.word(language, 'list_sep').join(c.event_item(e, language) for e in events)
        day = c.format_date(language, self.today)
        reply = c.template(language, 'events').format(day=day, items=items)
        top = _top(language, [c.localized(e['titles'], language) for e in events[:_SHOWN]],
                   c.word(language, 'list_sep'), lambda titles: _head(c.template(language, 'events')).format(
                       day=day, items=titles))
        action = {'type': 'show_events', 'day': self.today,
                  'items': [{'id': e['id'], 'start': e['start'], 'end': e['end'], 'place': e['place'],
                             'title': c.localized(e['titles'], language)} for e in events]}
        return TurnResult(reply, 'events', [action], spoken=top)

    def call_staff(self, language: str, key: str | None, reason: str) -> TurnResult:
        c = self.catalog
        body = {'robot_id': self.session['robot_id'], 'entrance': self._entrance(), 'language': language,
                'reason': reason, 'session_id': self.session['session_id']}
        _, request = service.create_staff_request(self.storage, c, body, key and f'turn:{key}')
        entrance = c.localized(c.entrances[self._entrance()]['names'], language)
        return TurnResult(c.template(language, 'staff').format(entrance=entrance), 'call_staff',
                          [{'type': 'call_staff', 'request_id': request['id'], 'entrance': self._entrance()}])


def _head(template: str) -> str:
    """A list reply's template up to its list and the mark ending that sentence (the rest is on the screen)."""
    end = template.index('{items}') + len('{items}')
    return template[:end + (template[end:end + 1] in ('.', '。', '!', '?', '။', '។'))]


def _top(language: str, names: list[str], separator: str, sentence) -> str:
    """The spoken form of a list: `sentence(names)` with the top three names (no details: they are on the
    screen), or the top two or one when three do not fit about 10 s of speech in `language`."""
    for count in range(min(_SHOWN, len(names)), 1, -1):
        text = sentence(separator.join(names[:count])).replace('..', '.')
        if len(text) <= SPOKEN_CHARS[language]:
            return text
    return sentence(names[0]).replace('..', '.')


def new_turn_id() -> str:
    return uuid.uuid4().hex
