"""The HTTP contract (/v1): FastAPI application over a Storage and the reply templates.

Endpoints are plain `def` so FastAPI runs them on its worker threads; the storage layer (one SQLite
connection per thread, or PostgreSQL) is what makes concurrent requests safe, not the event loop.

Every /v1 request carries a bearer token (auth.py); `Gate`, in front of everything else, answers 401
without one and 429 past the caller's rate limit (limits.py) before a byte of the body is read. The
endpoints then check the role and ownership: a robot works only with its own robot_id and sessions,
reads or cancels a booking only from the session that made it or with its booking code; the staff's
list and any booking need a staff token. /docs and /openapi.json stay public (they hold no data).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Annotated, Any, Literal, Optional

from fastapi import Depends, FastAPI, Header, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, BeforeValidator, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from caexpo_robot.backend.contract import (
    API_VERSION,
    ErrorBody,
    Identifier,
    Language,
    PlainText,
    SessionCreate,
    SessionEnded,
    SessionOut,
    TurnIn,
    TurnOut,
)

from . import service
from .auth import Principal, TokenRegistry, bearer_token
from .limits import RateLimiter, endpoint_group
from .storage import Storage, StorageError
from .turns import Conversation, new_turn_id

log = logging.getLogger('caexpo_assistant')

# The models the robot sends and reads (sessions, turns, errors) are the robot's contract module;
# the structured endpoints below are the assistant's own (the robot does not call them).
def _iso_day(value: Any) -> Any:
    """Only a YYYY-MM-DD string is a day: pydantic would read a number (`day=0`) as a Unix time (1970-01-01)."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or len(value) != 10 or value[4] != '-' or value[7] != '-':
        raise ValueError('a day is a date written YYYY-MM-DD')
    return value


Day = Annotated[dt.date, BeforeValidator(_iso_day)]
IdempotencyKey = Annotated[Optional[str], Header(
    alias='Idempotency-Key', max_length=128, pattern=r'^[A-Za-z0-9_.:-]{1,128}$',
    description='retry-safe writes: the same key returns the first answer')]


class Health(BaseModel):
    status: Literal['ok']
    api_version: str
    storage: Literal['sqlite', 'postgresql']
    catalog_version: int
    uptime_s: float


class ExhibitorOut(BaseModel):
    id: str
    name: str
    local_name: str
    country: str
    hall: str
    hall_name: str
    booth: str
    products: list[str]
    sectors: list[str]
    description: str
    score: Optional[int] = None


class SlotOut(BaseModel):
    day: str
    start: str
    end: str
    free: bool


class MeetingCreate(BaseModel):
    exhibitor_id: Identifier
    day: Day
    start: str = Field(pattern=r'^([01]\d|2[0-3]):[0-5]\d$', description='slot start, HH:MM')
    visitor_name: PlainText
    contact: Optional[PlainText] = None
    language: Language
    session_id: Optional[Identifier] = None
    robot_id: Optional[Identifier] = None


class MeetingOut(BaseModel):
    id: str
    code: str
    exhibitor_id: str
    exhibitor_name: Optional[str] = None
    booth: Optional[str] = None
    hall: Optional[str] = None
    day: str
    start: str
    end: str
    visitor_name: str
    contact: Optional[str] = None
    language: str
    session_id: Optional[str] = None
    robot_id: Optional[str] = None
    status: Literal['booked', 'cancelled']
    created_at: str
    cancelled_at: Optional[str] = None


class StaffRequestCreate(BaseModel):
    robot_id: Identifier
    entrance: Identifier
    language: Language
    reason: Optional[str] = Field(None, max_length=200, pattern=r'^[^\x00-\x1f\x7f]*$')
    session_id: Optional[Identifier] = None


class StaffRequestOut(BaseModel):
    id: str
    robot_id: str
    entrance: str
    language: str
    reason: str
    session_id: Optional[str] = None
    status: Literal['open', 'closed']
    created_at: str


class EventOut(BaseModel):
    id: str
    day: str
    start: str
    end: str
    kind: str
    title: str
    place: str
    place_name: str


class DirectionsOut(BaseModel):
    place: str
    place_name: str
    entrance: str
    distance_m: int
    bearing: str
    floor: int
    reply: str


ERRORS = {400: {'model': ErrorBody}, 401: {'model': ErrorBody, 'description': 'no or unknown bearer token'},
          403: {'model': ErrorBody, 'description': 'this token may not do this (role, robot or session)'},
          404: {'model': ErrorBody}, 413: {'model': ErrorBody}, 422: {'model': ErrorBody},
          429: {'model': ErrorBody, 'description': 'rate limit: retry after Retry-After seconds',
                'headers': {'Retry-After': {'description': 'seconds to wait', 'schema': {'type': 'string'}}}},
          503: {'model': ErrorBody}}
BEARER = HTTPBearer(auto_error=False,
                    description='a robot\'s or a staff member\'s token: Authorization: Bearer <token>')
REALM = 'Bearer realm="caexpo-assistant"'
PRINCIPAL = 'caexpo.principal'   # the ASGI scope key Gate stores the caller under
BookingCode = Annotated[Optional[str], Header(alias='X-Booking-Code', max_length=16, pattern=r'^[A-Za-z0-9 -]{1,16}$',
                                              description='the booking code given to the visitor (instead of '
                                                          'the session that booked)')]


def _query_names(dependant) -> set[str]:
    """The query parameter names an operation declares, its dependencies' included."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def refuse_unknown_query(request: Request) -> None:
    """422 for a query parameter the operation does not have (the document says no others are allowed): a
    misspelt `?langauge=vi` would otherwise be ignored silently and answer in the default language. Found by
    the API fuzzer (test/chaos/test_api_fuzz.py), which sends a parameter named by random Unicode."""
    route = request.scope.get('route')
    dependant = getattr(route, 'dependant', None)
    if dependant is None:
        return
    known = getattr(route, 'known_query_parameters', None)   # worked out once per operation
    if known is None:
        known = route.known_query_parameters = frozenset(_query_names(dependant))
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise service.ApiError(422, 'invalid_request', f'unknown query parameters: {", ".join(unknown)}'[:300],
                               [{'loc': ['query', name], 'msg': 'not a parameter of this operation',
                                 'type': 'unknown_parameter'} for name in unknown[:20]])


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {'code': code, 'message': message}
    if details is not None:
        body['details'] = details
    return JSONResponse({'error': body}, status_code=status)


class Gate:
    """Authentication and rate limits in front of the application: a /v1 request without a known bearer token
    gets 401 (WWW-Authenticate: Bearer), one over its caller's limit 429 with Retry-After, both before the
    body is read. Other paths (/docs, /openapi.json) pass through."""

    def __init__(self, app, tokens: TokenRegistry, limiter: RateLimiter | None):
        self.app, self.tokens, self.limiter = app, tokens, limiter

    async def __call__(self, scope, receive, send):
        path = scope.get('path', '') if scope['type'] == 'http' else ''
        if not (path == '/v1' or path.startswith('/v1/')):
            return await self.app(scope, receive, send)
        header = dict(scope.get('headers') or []).get(b'authorization')
        token = bearer_token(header.decode('latin-1')) if header else None
        principal = self.tokens.authenticate(token)
        if principal is None:
            response = error_response(401, 'unauthorized', 'this API needs a token: Authorization: Bearer <token>'
                                      if token is None else 'unknown or revoked token')
            response.headers['WWW-Authenticate'] = REALM if token is None else f'{REALM}, error="invalid_token"'
            return await response(scope, receive, send)
        if self.limiter is not None:
            wait = self.limiter.take((principal.role, principal.name), endpoint_group(scope['method'], path))
            if wait is not None:
                response = error_response(429, 'rate_limited', f'too many requests from {principal.role} '
                                          f'{principal.name}; retry later')
                response.headers['Retry-After'] = RateLimiter.retry_after_header(wait)
                return await response(scope, receive, send)
        scope[PRINCIPAL] = principal
        return await self.app(scope, receive, send)


def caller(request: Request, _credentials: Annotated[Any, Security(BEARER)] = None) -> Principal:
    """The authenticated caller (Gate put it in the scope; BEARER documents the scheme in OpenAPI)."""
    principal = request.scope.get(PRINCIPAL)
    if principal is None:   # only if the app runs without its Gate
        raise service.ApiError(401, 'unauthorized', 'this API needs a token: Authorization: Bearer <token>',
                               headers={'WWW-Authenticate': REALM})
    return principal


Caller = Annotated[Principal, Depends(caller)]


def forbidden(message: str) -> service.ApiError:
    return service.ApiError(403, 'forbidden', message)


def robot_only(principal: Principal) -> None:
    if principal.role != 'robot':
        raise forbidden('only a robot\'s token may do this')


def staff_only(principal: Principal) -> None:
    if principal.role != 'staff':
        raise forbidden('only a staff token may do this')


def own_robot_id(principal: Principal, robot_id: str | None) -> None:
    if robot_id is not None and robot_id != principal.name:
        raise forbidden(f'this token is robot {principal.name}\'s, not {robot_id}\'s')


def own_session(principal: Principal, session: dict) -> None:
    """Only the robot that opened a session may use it (staff do not hold conversations)."""
    if principal.role != 'robot' or session['robot_id'] != principal.name:
        raise forbidden('this session belongs to another robot')


def scoped_key(principal: Principal, key: str | None) -> str | None:
    """Idempotency keys are per caller: one robot's key can never replay another's stored answer."""
    return key and f'{principal.role}:{principal.name}:{key}'


def booking_access(principal: Principal, session_id: str | None, code: str | None):
    """Who may read or cancel a booking: staff; the robot whose session made it (naming that session); or
    anyone holding its booking code."""
    def check(meeting: dict) -> None:
        if principal.role == 'staff' or service.same_code(code, meeting['code']):
            return
        if session_id and principal.role == 'robot' and meeting['robot_id'] == principal.name \
                and meeting['session_id'] == session_id:
            return
        raise forbidden('this booking was made in another session: give the session that made it '
                        '(session_id) or its booking code (X-Booking-Code)')
    return check


class BodyLimit:
    """Rejects request bodies over `limit` bytes with 413 before any parsing (a 1 MB paste cannot stall a worker)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)
        declared = dict(scope.get('headers') or []).get(b'content-length')
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await self._reject(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message['type'] == 'http.disconnect':
                return
            chunks.append(message.get('body', b''))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._reject(scope, receive, send)
            more = message.get('more_body', False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {'type': 'http.request', 'body': b''.join(chunks), 'more_body': False}
        return await self.app(scope, replay, send)

    async def _reject(self, scope, receive, send):
        response = error_response(413, 'body_too_large', f'request bodies are limited to {self.limit} bytes')
        await response(scope, receive, send)


def create_app(storage: Storage, replies: dict, *, tokens: TokenRegistry, today: str | None = None,
               max_body_bytes: int = 65536, catalog_refresh_s: float = 1.0,
               limiter: RateLimiter | None = None) -> Gate:
    """The application behind its Gate; `today` (YYYY-MM-DD) pins the expo day for demos and tests;
    `tokens` are the callers it knows, `limiter` their rate limits (None: unlimited)."""
    started = time.monotonic()
    catalogs = service.CatalogCache(storage, replies, catalog_refresh_s)
    app = FastAPI(title='CAEXPO assistant API', version=API_VERSION, dependencies=[Depends(refuse_unknown_query)],
                  description='What a CAEXPO greeter robot asks the expo\'s assistant backend: sessions per '
                              'visitor, conversational turns in 11 languages, exhibitor search, meeting '
                              'booking, events, directions and staff calls. Errors always have the body '
                              '{"error": {"code", "message", "details"?}}.')
    app.state.storage = storage

    @app.exception_handler(service.ApiError)
    async def api_error(_request: Request, exc: service.ApiError):
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        details = [{'loc': list(e.get('loc', ())), 'msg': e.get('msg', ''), 'type': e.get('type', '')}
                   for e in exc.errors()]
        if any(d['type'] == 'json_invalid' for d in details):
            return error_response(400, 'malformed_json', 'the request body is not valid JSON', details)
        fields = ', '.join('.'.join(str(p) for p in d['loc'][1:]) or d['loc'][0] for d in details if d['loc'])
        return error_response(422, 'invalid_request', f'invalid or missing fields: {fields}', details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:
            # FastAPI's "error parsing the body": bytes that are not UTF-8, JSON nested too deep to decode.
            return error_response(400, 'malformed_json', 'the request body is not valid JSON')
        if exc.status_code == 405:
            response = error_response(405, 'method_not_allowed', f'{request.method} is not allowed here')
            response.headers['Allow'] = ', '.join(allowed_methods(app, request.scope))
            return response
        codes = {404: 'not_found'}
        response = error_response(exc.status_code, codes.get(exc.status_code, 'http_error'), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(StorageError)
    async def storage_error(_request: Request, exc: StorageError):
        log.error('storage failure: %s', exc)
        return error_response(503, 'storage_unavailable', 'the assistant database is unavailable; retry later')

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception):
        log.exception('unhandled error')
        return error_response(500, 'internal_error', 'the assistant failed on this request; it has been logged')

    def respond(status_body: tuple[int, dict]) -> JSONResponse:
        return JSONResponse(status_body[1], status_code=status_body[0])

    @app.get('/v1/health', response_model=Health, tags=['meta'], responses=ERRORS)
    def health(_caller: Caller):
        return Health(status='ok', api_version=API_VERSION, storage=storage.engine,
                      catalog_version=catalogs.get().version, uptime_s=round(time.monotonic() - started, 3))

    @app.post('/v1/sessions', status_code=201, response_model=SessionOut, tags=['conversation'], responses=ERRORS)
    def open_session(who: Caller, body: SessionCreate, idempotency_key: IdempotencyKey = None):
        """Open a conversation for one visitor at one robot (the token's robot: robot_id must be its own)."""
        robot_only(who)
        own_robot_id(who, body.robot_id)
        return respond(service.create_session(storage, catalogs.get(), body.model_dump(mode='json'),
                                              scoped_key(who, idempotency_key)))

    @app.delete('/v1/sessions/{session_id}', response_model=SessionEnded, tags=['conversation'], responses=ERRORS)
    def close_session(who: Caller, session_id: Annotated[str, PathParam(max_length=64)]):
        """End the visitor's conversation (idempotent; only the robot that opened it)."""
        own_session(who, service.get_session(storage, session_id))
        return service.end_session(storage, session_id)

    @app.post('/v1/sessions/{session_id}/turns', response_model=TurnOut, tags=['conversation'],
              responses={**ERRORS, 409: {'model': ErrorBody}})
    def turn(who: Caller, session_id: Annotated[str, PathParam(max_length=64)], body: TurnIn,
             idempotency_key: IdempotencyKey = None):
        """One visitor utterance in, one reply in the visitor's language out; never an error for an odd question.
        Only the robot that opened the session may use it."""
        session = service.get_session(storage, session_id)
        own_session(who, session)
        if session['ended_at']:
            raise service.ApiError(409, 'session_ended', 'this session has ended; open a new one')
        catalog = catalogs.get()
        conversation = Conversation(storage, catalog, session, catalog.expo_today(today))
        result = conversation.answer(body.text, body.language,
                                     body.visitor.model_dump(exclude_none=True) if body.visitor else None,
                                     scoped_key(who, idempotency_key))
        return {'turn_id': new_turn_id(), 'session_id': session_id, 'reply': result.reply,
                'language': body.language, 'intent': result.intent, 'topic': result.topic, 'actions': result.actions,
                'end_session': result.end_session, 'spoken': result.spoken_in(body.language)}

    @app.get('/v1/exhibitors', response_model=list[ExhibitorOut], tags=['matchmaking'], responses=ERRORS)
    def exhibitors(_caller: Caller, q: Annotated[str, Query(min_length=1, max_length=200,
                                           description='products, sector, country or name in any language')],
                   language: Language = 'en', limit: Annotated[int, Query(ge=1, le=50)] = 10):
        catalog = catalogs.get()
        return [{**catalog.exhibitor_public(ex, language), 'score': score}
                for ex, score in catalog.search_exhibitors(q, language, limit)]

    @app.get('/v1/exhibitors/{exhibitor_id}', response_model=ExhibitorOut, tags=['matchmaking'], responses=ERRORS)
    def exhibitor(_caller: Caller, exhibitor_id: Annotated[str, PathParam(max_length=64)],
                  language: Language = 'en'):
        catalog = catalogs.get()
        ex = catalog.exhibitors.get(exhibitor_id)
        if ex is None:
            raise service.ApiError(404, 'unknown_exhibitor', f'no exhibitor {exhibitor_id!r}')
        return catalog.exhibitor_public(ex, language)

    @app.get('/v1/exhibitors/{exhibitor_id}/slots', response_model=list[SlotOut], tags=['meetings'],
             responses=ERRORS)
    def exhibitor_slots(_caller: Caller, exhibitor_id: Annotated[str, PathParam(max_length=64)],
                        day: Optional[Day] = None):
        """Every meeting slot of the exhibitor on an expo day (default today), with free/taken."""
        catalog = catalogs.get()
        return service.slots(storage, catalog, exhibitor_id, day.isoformat() if day else catalog.expo_today(today))

    @app.post('/v1/meetings', status_code=201, response_model=MeetingOut, tags=['meetings'],
              responses={**ERRORS, 409: {'model': ErrorBody, 'description': 'slot_taken'}})
    def book(who: Caller, body: MeetingCreate, idempotency_key: IdempotencyKey = None):
        """Book one slot; concurrent requests for the same slot: exactly one 201, the others 409 slot_taken.
        A robot books as itself (robot_id: its own, filled in if absent; session_id: one of its sessions);
        staff (at a desk) may book too."""
        data = body.model_dump(mode='json')
        if who.role == 'robot':
            own_robot_id(who, body.robot_id)
            data['robot_id'] = who.name
            if body.session_id is not None:
                own_session(who, service.get_session(storage, body.session_id))
        return respond(service.book_meeting(storage, catalogs.get(), data, scoped_key(who, idempotency_key)))

    @app.get('/v1/meetings/{meeting_id}', response_model=MeetingOut, tags=['meetings'], responses=ERRORS)
    def meeting(who: Caller, meeting_id: Annotated[str, PathParam(max_length=64)],
                session_id: Optional[Identifier] = None, booking_code: BookingCode = None):
        """A booking, for the robot whose session made it (session_id), the holder of its code, or staff."""
        return service.get_meeting(storage, catalogs.get(), meeting_id,
                                   allowed=booking_access(who, session_id, booking_code))

    @app.delete('/v1/meetings/{meeting_id}', response_model=MeetingOut, tags=['meetings'], responses=ERRORS)
    def cancel(who: Caller, meeting_id: Annotated[str, PathParam(max_length=64)],
               session_id: Optional[Identifier] = None, booking_code: BookingCode = None,
               idempotency_key: IdempotencyKey = None):
        """Cancel a meeting (cancelling again answers with the cancelled meeting); who may: as for reading it."""
        return respond(service.cancel_meeting(storage, catalogs.get(), meeting_id, scoped_key(who, idempotency_key),
                                              allowed=booking_access(who, session_id, booking_code)))

    @app.post('/v1/staff-requests', status_code=201, response_model=StaffRequestOut, tags=['staff'],
              responses={**ERRORS, 200: {'model': StaffRequestOut,
                                         'description': 'this session (or robot) already has an open request'}})
    def call_staff(who: Caller, body: StaffRequestCreate, idempotency_key: IdempotencyKey = None):
        """Ask for a human at the robot's entrance (the token's robot). One open request per session (or per
        robot without a session): asking again answers 200 with it."""
        robot_only(who)
        own_robot_id(who, body.robot_id)
        if body.session_id is not None:
            own_session(who, service.get_session(storage, body.session_id))
        return respond(service.create_staff_request(storage, catalogs.get(), body.model_dump(),
                                                    scoped_key(who, idempotency_key)))

    @app.get('/v1/staff-requests', response_model=list[StaffRequestOut], tags=['staff'], responses=ERRORS)
    def staff_requests(who: Caller, entrance: Optional[Identifier] = None,
                       status: Literal['open', 'closed', 'all'] = 'open'):
        """For the staff's tablets (staff token): requests, oldest first, up to 500 (default: the open ones)."""
        staff_only(who)
        return service.list_staff_requests(storage, entrance, status)

    @app.delete('/v1/staff-requests/{request_id}', response_model=StaffRequestOut, tags=['staff'],
                responses=ERRORS)
    def close_staff_request(who: Caller, request_id: Annotated[str, PathParam(max_length=64)]):
        """A member of staff took care of it (staff token; idempotent)."""
        staff_only(who)
        return service.close_staff_request(storage, request_id)

    @app.get('/v1/events', response_model=list[EventOut], tags=['events'], responses=ERRORS)
    def events(_caller: Caller, day: Optional[Day] = None, language: Language = 'en'):
        """Forums and ceremonies of an expo day (default today); another date is 422 not_an_expo_day."""
        catalog = catalogs.get()
        chosen = day.isoformat() if day else catalog.expo_today(today)
        if chosen not in catalog.doc['expo']['days']:
            raise service.ApiError(422, 'not_an_expo_day', f'{chosen} is not an expo day: '
                                   + ', '.join(catalog.doc['expo']['days']))
        return [{'id': e['id'], 'day': e['day'], 'start': e['start'], 'end': e['end'], 'kind': e['kind'],
                 'title': catalog.localized(e['titles'], language), 'place': e['place'],
                 'place_name': catalog.place_name(e['place'], language)} for e in catalog.events_on(chosen)]

    @app.get('/v1/directions', response_model=DirectionsOut, tags=['directions'], responses=ERRORS)
    def directions(_caller: Caller, entrance: Identifier, place: Identifier, language: Language = 'en'):
        """How to get from a robot's entrance to a place (hall, zone, pavilion, forum room, service point)."""
        catalog = catalogs.get()
        if entrance not in catalog.entrances:
            raise service.ApiError(422, 'unknown_entrance', f'unknown entrance {entrance!r}')
        if place not in catalog.places:
            raise service.ApiError(404, 'unknown_place', f'unknown place {place!r}')
        way = catalog.direction(entrance, place, language)
        name = catalog.place_name(place, language)
        return {'place': place, 'place_name': name, 'entrance': entrance, 'distance_m': way.distance_m,
                'bearing': way.bearing, 'floor': way.floor,
                'reply': catalog.template(language, 'directions').format(place=name, direction=way.text)}

    return Gate(BodyLimit(app, max_body_bytes) if max_body_bytes else app, tokens, limiter)


def allowed_methods(app: FastAPI, scope: dict) -> list[str]:
    """The methods the routes matching this path accept (for a 405's Allow header)."""
    from starlette.routing import Match
    methods: set[str] = set()
    for route in app.router.routes:  # a route whose path matches answers FULL or PARTIAL (other method)
        if route.matches({**scope, 'method': 'GET'})[0] != Match.NONE:
            methods |= set(getattr(route, 'methods', None) or ())
    return sorted(methods)


def fastapi_app(app) -> FastAPI:
    """The FastAPI object inside the Gate and body-limit wrappers (for app.openapi())."""
    while not isinstance(app, FastAPI):
        app = app.app
    return app
