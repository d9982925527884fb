"""The conversational turn: read the visitor's sentence (understanding/router.py), follow the
conversation's state, and answer in the visitor's language.

The session keeps a small state between turns (sessions.context, never personal data):
  exhibitor  the exhibitor last talked about ("book 10:30" in the next turn means it)
  list       the exhibitors last listed ("the second company")
  slots      the meeting times last offered: exhibitor, day, starts ("the first one", "10:30")
  pending    a question the assistant asked: {"kind": "name", exhibitor, day, start} before a booking,
             {"kind": "offer", "what": "meeting" | "staff"} after "shall I ...?"
  last       the last function and its day, so "and tomorrow?" repeats it for another day

Facts are never guessed: a thing that is not in the catalog is said to be unknown (not_found), an
unclear question gets one short question back (clarify). Each reply has a compact spoken form beside
its full text (the robot says it; the screen shows the text and the actions): lists say the top three
by name only; any other reply says its first sentences within about 10 s of speech.
"""
from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, field

from caexpo_robot.backend.contract import SPOKEN_CHARS, spoken_form

from . import service
from .catalog import Catalog
from .storage import Storage
from .understanding import slots as slot_parser
from .understanding.embeddings import Encoder, load_exemplars
from .understanding.normalize import warm_up as warm_normalisation
from .understanding.retrieval import ExhibitorIndex
from .understanding.router import FAQ_TOPICS, ROUTES, Reading, Router
from .wording import finish

_SHOWN = 3  # exhibitors and slots read out per reply; the full list travels in the action
_SLOTS_SAID = 4
# FAQ topics whose answer is a place: the fact naming it, or the nearest place of a kind.
_NEAREST_KIND = {'toilet': 'toilet'}
# "Where is the smoking area?" names a place of a kind a FAQ answers better (the nearest, with its rules).
_KIND_TOPIC = {'toilet': 'toilet', 'atm': 'atm', 'charging': 'charging', 'luggage': 'luggage', 'smoking': 'smoking',
               'taxi': 'taxi', 'metro': 'metro', 'food': 'food', 'prayer': 'prayer', 'medical': 'first_aid',
               'shuttle': 'transport'}
# A question about a place we cannot name, close in meaning to a FAQ ("where can I charge my phone"):
# the FAQ answers it when its score is within this of the best.
_FAQ_NEAR = 0.02


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


class Understanding:
    """What a server process needs to read sentences: the model, the exemplars, the exhibitor passages."""

    def __init__(self):
        encoder = Encoder(workers=min(4, os.cpu_count() or 1))   # one sentence at a time per core
        self.router = Router(load_exemplars(ROUTES, encoder), encoder)
        self.exhibitors = ExhibitorIndex(encoder)


_understanding: Understanding | None = None
_understanding_lock = threading.Lock()


def understanding() -> Understanding:
    """The process's one Understanding, made on first use (servers make it at start-up: `warm_up`)."""
    global _understanding
    with _understanding_lock:
        if _understanding is None:
            _understanding = Understanding()
        return _understanding


# One sentence per language, read once at start-up so every lazy load (segmenters, OpenCC, regexes)
# happens before the first visitor.
_WARM_UP = {'en': 'where is the AI zone', 'vi': 'nhà vệ sinh ở đâu', 'th': 'ห้องน้ำอยู่ที่ไหน', 'ms': 'tandas di mana',
            'id': 'toilet di mana', 'fil': 'nasaan ang CR', 'my': 'အိမ်သာ ဘယ်မှာလဲ', 'km': 'បង្គន់នៅឯណា',
            'lo': 'ຫ້ອງນ້ຳຢູ່ໃສ', 'zh': '洗手間在哪裡', 'ko': '화장실 어디예요'}


def warm_up(catalog: Catalog) -> None:
    """Load the model, the exemplar vectors, the catalog's passages and the segmenters before the first visitor."""
    u = understanding()
    u.exhibitors.warm(catalog)
    warm_normalisation()
    today = catalog.doc['expo']['days'][0]
    for language, text in _WARM_UP.items():
        u.router.read(text, language, catalog, today)


class Conversation:
    def __init__(self, storage: Storage, catalog: Catalog, session: dict, today: str):
        self.storage, self.catalog, self.session, self.today = storage, catalog, session, today
        self.context = dict(session.get('context') or {})
        self.understanding = understanding()

    # -- the turn --------------------------------------------------------------------------------
    def answer(self, text: str, language: str, visitor: dict | None, key: str | None) -> TurnResult:
        before = dict(self.context)
        reading = self.understanding.router.read(text, language, self.catalog, self.today)
        result = self._follow_up(reading, visitor, key) or self._route(reading, visitor, key)
        result.reply = finish(language, result.reply)
        if result.spoken:
            result.spoken = finish(language, result.spoken)
        if self.context != before:
            service.save_context(self.storage, self.session['session_id'], self.context)
        return result

    def _follow_up(self, r: Reading, visitor: dict | None, key: str | None) -> TurnResult | None:
        """An answer to what the assistant just asked, or a short follow-up ("the first one", "and tomorrow?")."""
        ctx = self.context
        other = r.keywords - {'meeting', 'hours', 'events', 'presence', 'directions'}
        pending = ctx.get('pending') or {}
        if pending.get('kind') == 'name':
            # "my name is ..." answers the question whatever words it contains (김민수입니다 holds 수입,
            # "import"); a bare reply counts as a name only when it asks nothing else.
            name = slot_parser.find_name(r.text, r.language) or (
                None if other else slot_parser.find_name(r.text, r.language, asked=True))
            if name:
                self.context.pop('pending', None)
                who = name[0] if not name[1] else f'{name[0]} ({name[1]})'
                return self._book(pending['exhibitor_id'], pending['day'], pending['start'], r.language,
                                  {**(visitor or {}), 'name': who}, key)
        if pending.get('kind') == 'clarify':
            # "Do you mean A or B?" - "B" / "the second" / "where to eat": the first question, now as that
            chosen = _pick(pending['options'], r.ordinal) or (r.intent if r.intent in pending['options'] else None)
            if chosen:
                self.context.pop('pending', None)
                first = self.understanding.router.read(pending['text'], r.language, self.catalog, self.today)
                first.intent, first.clarify = chosen, None
                return self._route(first, visitor, key)
        offered = ctx.get('slots')
        if offered and not other and (r.time or r.ordinal):
            start = r.time or _pick(offered['starts'], r.ordinal)
            if start:
                return self._meeting_at(offered['exhibitor_id'], r.day or offered['day'], start, r.language,
                                        visitor, key)
        listed = ctx.get('list')
        if listed and r.ordinal and not other:
            chosen = _pick(listed, r.ordinal)
            if chosen:
                return self.slots(chosen, r.day or self.today, r.language)
        # ("no thanks" declines the offer; it does not end the conversation)
        if pending.get('kind') == 'offer' and r.yes is not None and not other - {'goodbye'} \
                and r.intent not in FAQ_TOPICS:
            self.context.pop('pending', None)
            if r.yes and pending.get('what') == 'staff':
                return self.call_staff(r.language, key, reason=r.text[:200])
            if r.yes and pending.get('what') == 'meeting' and listed:
                if len(listed) == 1:
                    return self.slots(listed[0], r.day or self.today, r.language)
                return TurnResult(self._t(r.language, 'choose_item'), 'meeting_slots')
            if not r.yes:
                return TurnResult(self._t(r.language, 'anything_else'), 'small_talk')
        last = ctx.get('last') or {}
        same = {'events': 'events', 'slots': 'meeting'}.get(last.get('function'))
        if r.day and same and not r.keywords - {same} and (
                r.intent in (None, 'other', same) or r.similarity.get(r.intent, 0) < 0.86):
            if last['function'] == 'events':
                return self.events(r.day, r.language)
            return self.slots(last['exhibitor_id'], r.day, r.language)
        return None

    def _route(self, r: Reading, visitor: dict | None, key: str | None) -> TurnResult:
        c, language = self.catalog, r.language
        self.context.pop('pending', None)
        if r.intent in (None, 'other'):
            return self._unknown(language)
        if r.clarify:
            self.context['pending'] = {'kind': 'clarify', 'options': list(r.clarify), 'text': r.text[:200]}
            labels = c.replies[language]['labels']
            return TurnResult(self._t(language, 'clarify', a=labels[r.clarify[0]], b=labels[r.clarify[1]]),
                              'clarify', topic=f'{r.clarify[0]}|{r.clarify[1]}')
        if r.intent in FAQ_TOPICS:
            return self.faq(r.intent, language)
        if r.intent in ('directions', 'presence'):
            topic = self._place_topic(r)
            if topic:
                return self.faq(topic, language)
            if r.intent == 'directions':
                return self.directions_to(r, language)
            return self.presence(r, language)
        if r.intent == 'matchmaking':
            return self.matchmaking(r, language)
        if r.intent == 'meeting':
            return self.meeting(r, visitor, key)
        if r.intent == 'cancel':
            return self.cancel(language, key)
        if r.intent == 'events':
            return self.events(r.day or self.today, language)
        if r.intent == 'staff':
            return self.call_staff(language, key, reason=r.text[:200])
        if r.intent == 'goodbye':
            return TurnResult(self._t(language, 'goodbye'), 'goodbye', end_session=True)
        if r.intent == 'abuse':
            self.context['pending'] = {'kind': 'offer', 'what': 'staff'}
            return TurnResult(self._t(language, 'abuse'), 'small_talk', [{'type': 'offer_call_staff'}])
        return TurnResult(self._t(language, 'greeting'), 'small_talk')

    # -- pieces ----------------------------------------------------------------------------------
    def _t(self, language: str, key: str, **values) -> str:
        return self.catalog.template(language, key).format(**values)

    def _entrance(self) -> str:
        return self.session['entrance']

    def _unknown(self, language: str) -> TurnResult:
        self.context['pending'] = {'kind': 'offer', 'what': 'staff'}
        return TurnResult(self._t(language, 'unknown'), 'unknown', [{'type': 'offer_call_staff'}])

    def _not_found(self, language: str) -> TurnResult:
        self.context['pending'] = {'kind': 'offer', 'what': 'staff'}
        return TurnResult(self._t(language, 'not_found'), 'not_found', [{'type': 'offer_call_staff'}])

    def _map_action(self, place: str, way) -> dict:
        p = self.catalog.places[place]
        return {'type': 'show_map', 'place': place, 'hall': p['hall'], 'floor': p['floor'],
                'from_entrance': self._entrance(), 'distance_m': way.distance_m, 'bearing': way.bearing}

    def _nearest(self, kind: str) -> str | None:
        """The place of `kind` closest to the robot's entrance, preferring the entrance's floor."""
        c, entrance = self.catalog, self.catalog.entrances[self._entrance()]
        candidates = [pid for pid, p in c.places.items() if p.get('kind') == kind]
        if not candidates:
            return None
        return min(candidates, key=lambda pid: (c.places[pid]['floor'] != entrance['floor'],
                                                (c.places[pid]['x'] - entrance['x']) ** 2
                                                + (c.places[pid]['y'] - entrance['y']) ** 2))

    def faq(self, topic: str, language: str) -> TurnResult:
        c = self.catalog
        values = dict(c.facts)
        values.update(first_day=c.format_date(language, c.doc['expo']['days'][0]),
                      last_day=c.format_date(language, c.doc['expo']['days'][-1]))
        actions = []
        place = self._nearest(_NEAREST_KIND[topic]) if topic in _NEAREST_KIND else c.facts.get(f'{topic}_place')
        if place in c.places:
            way = c.direction(self._entrance(), place, language)
            values.update(place=c.place_name(place, language), direction=way.text)
            actions.append(self._map_action(place, way))
        return TurnResult(c.template(language, topic).format(**values), 'faq', actions, topic=topic)

    def _way(self, place: str, language: str, key: str = 'directions', **values) -> TurnResult:
        c = self.catalog
        way = c.direction(self._entrance(), place, language)
        reply = self._t(language, key, place=c.place_name(place, language), direction=way.text, **values)
        return TurnResult(reply, 'directions', [self._map_action(place, way)])

    def _thing(self, r: Reading) -> tuple[str, str] | None:
        """(name, place) of the most specific thing the sentence names: an exhibit, an exhibitor, a place."""
        c, language = self.catalog, r.language
        if r.exhibits:
            exhibit = next(e for e in c.doc.get('exhibits', []) if e['id'] == r.exhibits[0])
            return c.localized(exhibit['names'], language), exhibit['place']
        if r.exhibitors:
            ex = c.exhibitors[r.exhibitors[0]]
            return c.localized(ex['names'], language), ex['hall']
        return None

    def _place_topic(self, r: Reading) -> str | None:
        """The FAQ topic a directions question really asks: the kind of the place it names, or, when it
        names nothing we know, a FAQ nearly as close in meaning."""
        if r.exhibits or r.exhibitors:
            return None
        if r.places:
            return _KIND_TOPIC.get(self.catalog.places[r.places[0]].get('kind', ''))
        if r.tags or r.countries or r.intent != 'directions':
            return None   # "is there a swimming pool?" is not a question about toilets
        best = max(r.score.values(), default=0.0)
        faq = max(FAQ_TOPICS, key=lambda topic: r.score.get(topic, 0.0))
        return faq if r.score.get(faq, 0.0) >= best - _FAQ_NEAR else None

    def directions_to(self, r: Reading, language: str) -> TurnResult:
        c = self.catalog
        if r.exhibits:
            name, place = self._thing(r)
            return self._way(place, language, 'exhibit', thing=name)
        if r.exhibitors:
            ex = c.exhibitors[r.exhibitors[0]]
            self._remember(exhibitor=ex['id'])
            way = c.direction(self._entrance(), ex['hall'], language)
            reply = self._t(language, 'directions', place=c.exhibitor_item(ex, language), direction=way.text)
            return TurnResult(reply, 'directions', [self._map_action(ex['hall'], way)])
        if r.places:
            return self._way(r.places[0], language)
        pavilion = next((c.countries[code]['pavilion'] for code in r.countries
                         if c.countries[code]['pavilion']), None)
        if pavilion:
            return self._way(pavilion, language)
        if r.tags:  # "where can I find durian?": the exhibitors that have it
            return self.matchmaking(r, language)
        return self._not_found(language)

    def presence(self, r: Reading, language: str) -> TurnResult:
        """ "Is X here?" / "Is X in Y?": yes (and where), no (and where instead), or not in our data."""
        c = self.catalog
        thing = self._thing(r)
        if thing is None:
            if r.tags or r.countries and not r.places:
                return self.matchmaking(r, language)
            if r.places:
                return self._way(r.places[0], language, 'present_yes', thing=c.place_name(r.places[0], language))
            return self._not_found(language)
        name, place = thing
        asked = [p for p in r.places if p != place]
        if asked and c.places[place].get('hall') != c.places[asked[0]].get('hall'):
            return self._way(place, language, 'present_elsewhere', thing=name,
                             asked=c.place_name(asked[0], language))
        return self._way(place, language, 'present_yes', thing=name)

    def matchmaking(self, r: Reading, language: str) -> TurnResult:
        c = self.catalog
        ranked = self.understanding.exhibitors.rank(c, r.text, c.search_exhibitors(r.normalized, language))
        if not ranked:
            self.context['pending'] = {'kind': 'offer', 'what': 'staff'}
            return TurnResult(self._t(language, 'exhibitors_none'), 'matchmaking', [{'type': 'offer_call_staff'}])
        shown = [ex for ex, _ in ranked[:_SHOWN]]
        items = c.word(language, 'list_sep').join(c.exhibitor_item(ex, language) for ex in shown)
        reply = self._t(language, 'exhibitors', count=len(ranked), items=items)
        self._remember(exhibitor=shown[0]['id'], listed=[ex['id'] for ex, _ in ranked])
        self.context['pending'] = {'kind': 'offer', 'what': 'meeting'}
        action = {'type': 'show_exhibitors',
                  'items': [{**c.exhibitor_public(ex, language), 'score': score} for ex, score in ranked]}
        spoken = _top(language, [c.localized(ex['names'], language) for ex in shown], c.word(language, 'list_sep'),
                      lambda names: _head(c.template(language, 'exhibitors')).format(count=len(ranked), items=names))
        return TurnResult(reply, 'matchmaking', [action], spoken=spoken)

    def _remember(self, exhibitor: str | None = None, listed: list[str] | None = None) -> None:
        if exhibitor:
            self.context['exhibitor'] = exhibitor
        if listed is not None:
            self.context['list'] = listed[:20]
            self.context.pop('slots', None)

    def meeting(self, r: Reading, visitor: dict | None, key: str | None) -> TurnResult:
        language = r.language
        exhibitor_id = (r.exhibitors[0] if r.exhibitors else None) or (
            _pick(self.context.get('list') or [], r.ordinal) if r.ordinal else None)
        if exhibitor_id is None and (r.tags or r.countries):
            ranked = self.catalog.search_exhibitors(r.normalized, language)
            exhibitor_id = ranked[0][0]['id'] if ranked else None
        if exhibitor_id is None and not self.context.get('exhibitor'):
            found = self.understanding.exhibitors.clearly_meant(self.catalog, r.text, 1)
            exhibitor_id = found[0] if found else None
        exhibitor_id = exhibitor_id or self.context.get('exhibitor')
        if exhibitor_id is None:
            return TurnResult(self._t(language, 'need_exhibitor'), 'meeting_slots')
        day = r.day or self.today
        if r.time:
            return self._meeting_at(exhibitor_id, day, r.time, language, visitor, key)
        return self.slots(exhibitor_id, day, language)

    def _free(self, exhibitor_id: str, day: str) -> list[str]:
        if day not in self.catalog.doc['expo']['days']:
            return []
        return [s['start'] for s in service.slots(self.storage, self.catalog, exhibitor_id, day) if s['free']]

    def slots(self, exhibitor_id: str, day: str, language: str) -> TurnResult:
        c = self.catalog
        name = c.localized(c.exhibitors[exhibitor_id]['names'], language)
        free = self._free(exhibitor_id, day)
        self._remember(exhibitor=exhibitor_id)
        self.context['last'] = {'function': 'slots', 'exhibitor_id': exhibitor_id, 'day': day}
        when = c.format_date(language, day)
        if not free:
            self.context.pop('slots', None)
            return TurnResult(self._t(language, 'slots_none', exhibitor=name, day=when), 'meeting_slots',
                              [{'type': 'offer_call_staff'}])
        self.context['slots'] = {'exhibitor_id': exhibitor_id, 'day': day, 'starts': free}
        times = c.word(language, 'list_sep').join(free[:_SLOTS_SAID])
        return TurnResult(self._t(language, 'slots', exhibitor=name, day=when, slots=times), 'meeting_slots',
                          [{'type': 'offer_slots', 'exhibitor_id': exhibitor_id, 'day': day, 'slots': free}])

    def _meeting_at(self, exhibitor_id: str, day: str, start: str, language: str, visitor: dict | None,
                    key: str | None) -> TurnResult:
        """A time was chosen: not a slot of theirs -> the free ones; taken -> others; else the name, then book."""
        c = self.catalog
        ex = c.exhibitors[exhibitor_id]
        name, when = c.localized(ex['names'], language), c.format_date(language, day)
        starts = dict(c.slot_starts(ex))
        free = self._free(exhibitor_id, day)
        self._remember(exhibitor=exhibitor_id)
        offer = [{'type': 'offer_slots', 'exhibitor_id': exhibitor_id, 'day': day, 'slots': free}]
        if start not in starts or day not in c.doc['expo']['days']:
            self.context['slots'] = {'exhibitor_id': exhibitor_id, 'day': day, 'starts': free}
            return TurnResult(self._t(language, 'not_available', exhibitor=name, start=start, day=when,
                                      slots=c.word(language, 'list_sep').join(free[:_SLOTS_SAID])),
                              'meeting_taken', offer)
        if start not in free:
            others = [s for s in free if s != start]
            self.context['slots'] = {'exhibitor_id': exhibitor_id, 'day': day, 'starts': others}
            return TurnResult(self._t(language, 'taken', exhibitor=name, start=start,
                                      slots=c.word(language, 'list_sep').join(others[:_SLOTS_SAID])),
                              'meeting_taken', offer)
        who = {**(self.session.get('visitor') or {}), **(visitor or {})}
        if not who.get('name'):
            self.context['pending'] = {'kind': 'name', 'exhibitor_id': exhibitor_id, 'day': day, 'start': start}
            return TurnResult(self._t(language, 'ask_name', exhibitor=name, start=start, day=when), 'meeting_details')
        return self._book(exhibitor_id, day, start, language, who, key)

    def _book(self, exhibitor_id: str, day: str, start: str, language: str, visitor: dict,
              key: str | None) -> TurnResult:
        c = self.catalog
        ex = c.exhibitors[exhibitor_id]
        name = c.localized(ex['names'], language)
        body = {'exhibitor_id': exhibitor_id, 'day': day, 'start': start, 'visitor_name': visitor['name'],
                'contact': visitor.get('contact'), 'language': language,
                'session_id': self.session['session_id'], 'robot_id': self.session['robot_id']}
        status, result = service.book_meeting(self.storage, c, body, key and f'turn:{key}')
        self.context.pop('slots', None)
        if status != 201:
            free = self._free(exhibitor_id, day)
            self.context['slots'] = {'exhibitor_id': exhibitor_id, 'day': day, 'starts': free}
            return TurnResult(self._t(language, 'taken', exhibitor=name, start=start,
                                      slots=c.word(language, 'list_sep').join(free[:_SLOTS_SAID])),
                              'meeting_taken', [{'type': 'offer_slots', 'exhibitor_id': exhibitor_id, 'day': day,
                                                 'slots': free}])
        reply = self._t(language, 'booked', exhibitor=name, start=result['start'], day=c.format_date(language, day),
                        booth=ex['booth'], hall=c.place_name(ex['hall'], language), code=result['code'],
                        name=visitor['name'])
        return TurnResult(reply, 'meeting_booked', [_public_meeting(result)])

    def cancel(self, language: str, key: str | None) -> TurnResult:
        c = self.catalog
        meeting = service.latest_meeting_of_session(self.storage, self.session['session_id'])
        if meeting is None:
            return TurnResult(self._t(language, 'no_meeting'), 'meeting_cancelled')
        _, result = service.cancel_meeting(self.storage, c, meeting['id'], key and f'turn:{key}')
        ex = c.exhibitors.get(result['exhibitor_id'])
        reply = self._t(language, 'cancelled', start=result['start'],
                        exhibitor=c.localized(ex['names'], language) if ex else result['exhibitor_id'])
        return TurnResult(reply, 'meeting_cancelled', [{**_public_meeting(result), 'type': 'meeting_cancelled'}])

    def events(self, day: str, language: str) -> TurnResult:
        c = self.catalog
        events = c.events_on(day)
        when = c.format_date(language, day)
        self.context['last'] = {'function': 'events', 'day': day}
        if not events:
            return TurnResult(self._t(language, 'events_none', day=when), 'events')
        items = c.word(language, 'list_sep').join(c.event_item(e, language) for e in events)
        reply = self._t(language, 'events', day=when, items=items)
        top = _top(language, [c.localized(e['titles'], language) for e in events[:_SHOWN]],
                   c.word(language, 'list_sep'), lambda titles: _head(c.template(language, 'events')).format(
                       day=when, items=titles))
        action = {'type': 'show_events', 'day': day,
                  'items': [{'id': e['id'], 'start': e['start'], 'end': e['end'], 'place': e['place'],
                             'title': c.localized(e['titles'], language)} for e in events]}
        return TurnResult(reply, 'events', [action], spoken=top)

    def call_staff(self, language: str, key: str | None, reason: str) -> TurnResult:
        c = self.catalog
        body = {'robot_id': self.session['robot_id'], 'entrance': self._entrance(), 'language': language,
                'reason': reason, 'session_id': self.session['session_id']}
        _, request = service.create_staff_request(self.storage, c, body, key and f'turn:{key}')
        entrance = c.localized(c.entrances[self._entrance()]['names'], language)
        return TurnResult(self._t(language, 'staff', entrance=entrance), 'call_staff',
                          [{'type': 'call_staff', 'request_id': request['id'], 'entrance': self._entrance()}])


def _pick(items: list, ordinal: int | None):
    """The ordinal-th item (1-based; -1 = the last), or None when the list is shorter."""
    if not ordinal or not items:
        return None
    index = len(items) - 1 if ordinal < 0 else ordinal - 1
    return items[index] if 0 <= index < len(items) else None


def _public_meeting(meeting: dict) -> dict:
    """What the robot's screen gets of a meeting: never the visitor's contact details."""
    keep = ('id', 'code', 'exhibitor_id', 'exhibitor_name', 'booth', 'hall', 'day', 'start', 'end', 'status')
    return {'type': 'meeting_booked', **{k: meeting[k] for k in keep if k in meeting}}


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

