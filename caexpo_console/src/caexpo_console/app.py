"""The console's JSON API (/api/...) and server-sent event stream, for the browser pages.

Every /api route except /api/login, /api/health and /api/openapi.json needs a live session cookie (401); every
POST/PUT/DELETE except /api/login also needs the session's CSRF token in X-CSRF-Token (403). Login takes a
JSON body only, which a cross-site form cannot send. Each route checks the role's permission (auth.py, 403).
Commands to robots are checked, forwarded through a CommandSender and audited with their result; the
robot's ack is audited again when it arrives (fleet.py). A command refused before that (no live session:
actor 'anonymous'; no CSRF token) is audited too, bounded per client and minute (auth.RefusalAudit).
Errors are `{"error": {"code", "message", ...}}`.
Plain `def` routes run on FastAPI's worker threads (storage is per-thread); the stream is async.
"""

import asyncio
import csv
import functools
import io
import json
import logging
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from caexpo_robot.fleet.protocol import COMMAND_KINDS, FleetError
from caexpo_robot.messages import Language

from . import redact
from .auth import ANONYMOUS, CSRF_HEADER, ROLES, SESSION_COOKIE, Auth, AuthError, Session, UserError, permissions_of
from .fleet import CommandSender, FleetHub
from .storage import LATENCY_EDGES_MS, Storage

log = logging.getLogger('caexpo_console')

CSP = ("default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = [(b'content-security-policy', CSP.encode()), (b'x-content-type-options', b'nosniff'),
                    (b'referrer-policy', b'no-referrer'), (b'x-frame-options', b'DENY'),
                    (b'cross-origin-opener-policy', b'same-origin'),
                    (b'permissions-policy', b'camera=(), microphone=(), geolocation=()')]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({'error': {'code': code, 'message': message, **extra}}, status_code=status)


class SecurityHeaders:
    """Pure ASGI (does not buffer the event stream): CSP and friends on every response, no-store on /api,
    HSTS when served over https."""

    def __init__(self, app, https: bool):
        self.app, self.https = app, https

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)
        api = scope.get('path', '').startswith('/api/')

        async def send_with_headers(message):
            if message['type'] == 'http.response.start':
                headers = list(message.get('headers') or []) + SECURITY_HEADERS
                if api:
                    headers.append((b'cache-control', b'no-store'))
                if self.https:
                    headers.append((b'strict-transport-security', b'max-age=31536000'))
                message = {**message, 'headers': headers}
            await send(message)
        return await self.app(scope, receive, send_with_headers)


# -- request models ----------------------------------------------------------------------------------------
class Strict(BaseModel):
    model_config = ConfigDict(extra='forbid')


class LoginIn(Strict):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


CommandKind = Literal['say', 'stop_speech', 'pause_greeting', 'resume_greeting', 'take_over', 'hand_back',
                      'acknowledge_alert', 'watch']


class CommandIn(Strict):
    kind: CommandKind
    text: Optional[str] = Field(None, max_length=500)
    language: Optional[Language] = None
    alert_id: Optional[str] = Field(None, max_length=64)
    watching: Optional[bool] = None
    force: bool = False
    reason: Optional[str] = Field(None, max_length=500, description='why (kept in the audit log)')


class AssignIn(Strict):
    assignee: str = Field(min_length=1, max_length=64)


class UserIn(Strict):
    name: str = Field(max_length=64)
    role: Literal['viewer', 'operator', 'supervisor', 'admin']
    password: str = Field(max_length=1024)


class UserChange(Strict):
    role: Optional[Literal['viewer', 'operator', 'supervisor', 'admin']] = None
    password: Optional[str] = Field(None, max_length=1024)
    disabled: Optional[bool] = None


class StreamStats:
    def __init__(self):
        self.clients = 0
        self.dropped = 0      # slow clients disconnected because their queue filled
        self.sent = 0


def create_app(storage: Storage, hub: FleetHub, auth: Auth, sender: CommandSender, *, secure_cookies: bool = False,
               static_dir: str | Path | None = None, stream_queue: int = 256, stream_ping_s: float = 15.0,
               stream_session_check_s: float = 10.0) -> Any:
    """The ASGI application (FastAPI wrapped in SecurityHeaders); `.state` of the FastAPI app holds `stream` and
    `close_streams()` (the server calls it when it stops: see server.ConsoleServer)."""
    app = FastAPI(title='caexpo-console', version='1', docs_url=None, redoc_url=None, openapi_url='/api/openapi.json')
    stream = app.state.stream = StreamStats()
    # Robots each session watches, and its open streams: when a session's last stream closes (the tab is gone)
    # or it logs out, the console tells those robots it stopped watching, so no thumbnail keeps flowing and
    # no "staff member watching" banner stays up for nobody.
    # `lock` guards these four: route worker threads, the loop's executor and the ticker thread all use them.
    watching: dict[str, set[str]] = {}
    watcher_names: dict[str, str] = {}   # session -> its user, for the refreshes below
    open_streams: Counter = Counter()
    # Each open event stream's "end now" (callable from any thread) -> its session. An event stream never ends
    # by itself, and uvicorn waits for open responses before it stops: without this a stop waited out the
    # graceful timeout and then cancelled the streams with an ERROR. Also how a logout, or disabling a user or
    # changing their role, ends that session's or user's streams at once.
    closing = threading.Event()
    stream_enders: dict[Any, Session] = {}
    lock = threading.Lock()

    def end_streams(which: Any = lambda _session: True) -> int:
        """Ends the open event streams whose session `which` picks (all by default); how many."""
        with lock:
            enders = [end for end, session in stream_enders.items() if which(session)]
        for end in enders:
            end()
        return len(enders)

    def close_streams() -> None:
        """Ends every open event stream and refuses new ones (503): the server is stopping."""
        closing.set()
        end_streams()
    app.state.close_streams = close_streams

    def refresh_watches() -> int:
        """Tell each robot again who still watches it (every open view), called by the ticker every
        WATCH_REFRESH_S: a robot forgets a watcher not confirmed within its watch_ttl_s (30 s), so a console
        that died without closing its views leaves no thumbnail flowing and no banner up. Not audited (the
        operator did nothing new); the robot's acks are not pending commands either. The number sent."""
        # Only views of a session that still has an open stream and is still live: a session that logged out,
        # expired or lost its tab is dropped here (the robot then forgets it), never confirmed forever.
        with lock:
            candidates = [(t, watcher_names.get(t), sorted(robots)) for t, robots in watching.items()]
        views = []
        for token_hash, user, robots in candidates:
            with lock:
                streaming = open_streams.get(token_hash, 0) > 0
            if user and streaming and auth.session_by_hash(token_hash) is not None:
                views.append((user, robots))
            else:
                with lock:
                    watching.pop(token_hash, None)
                    watcher_names.pop(token_hash, None)
        sent = 0
        for user, robots in views:
            for robot_id in robots:
                body = COMMAND_KINDS['watch'](command_id=uuid.uuid4().hex, operator=user, watching=True)
                try:
                    sender.send(robot_id, 'watch', body.model_dump(mode='json'))
                    sent += 1
                except (FleetError, OSError, RuntimeError) as exc:
                    log.info('watch refresh to %s: %s', robot_id, exc)
        return sent
    app.state.refresh_watches = refresh_watches

    @app.exception_handler(ApiError)
    async def _api_error(_request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @app.exception_handler(AuthError)
    async def _auth_error(_request, exc: AuthError):
        response = error_response(exc.status, exc.code, exc.message)
        if exc.retry_after_s is not None:
            response.headers['Retry-After'] = str(max(1, int(exc.retry_after_s + 0.999)))
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        problems = [{'loc': [str(p) for p in e['loc']], 'msg': e['msg']} for e in exc.errors()]
        return error_response(422, 'invalid', 'the request is not valid', details=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request, exc: StarletteHTTPException):
        return error_response(exc.status_code, 'http', str(exc.detail))

    def client_of(request: Request) -> str:
        return request.client.host if request.client else '?'

    def current(request: Request) -> Session:
        session = auth.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise ApiError(401, 'unauthenticated', 'log in first')
        return session

    def writer(request: Request, session: Annotated[Session, Depends(current)],
               csrf: Annotated[Optional[str], Header(alias=CSRF_HEADER)] = None) -> Session:
        if not auth.check_csrf(session, csrf):
            auth.refusals.record(session.user, f'{request.method} {request.url.path}'[:200], None, {},
                                 'refused: csrf', client_of(request))
            raise csrf_refused()
        return session

    def csrf_refused() -> ApiError:
        return ApiError(403, 'csrf', f'this request needs the session\'s {CSRF_HEADER} header')

    async def commander(request: Request, robot_id: str,
                        csrf: Annotated[Optional[str], Header(alias=CSRF_HEADER)] = None) -> Session:
        """The Writer check of the command routes, auditing what it refuses with the command that was tried:
        without a live session (actor 'anonymous') and without the CSRF token. Bounded (auth.RefusalAudit):
        anyone can send these, so they must not be able to fill the append-only log."""
        session = await asyncio.to_thread(auth.session, request.cookies.get(SESSION_COOKIE))
        if session is not None and auth.check_csrf(session, csrf):
            return session
        action, detail = await attempted_command(request)
        await asyncio.to_thread(auth.refusals.record, ANONYMOUS if session is None else session.user, action,
                                robot_id[:64], detail, 'refused: unauthenticated' if session is None
                                else 'refused: csrf', client_of(request))
        if session is None:
            raise ApiError(401, 'unauthenticated', 'log in first')
        raise csrf_refused()

    async def attempted_command(request: Request) -> tuple[str, dict]:
        """(action, details) of a command route's request, from its path and JSON body as far as they go
        (FastAPI has already read the body; nothing of it is trusted beyond a known kind and short ids)."""
        if 'alert_id' in request.path_params:
            return 'acknowledge_alert', {'alert_id': str(request.path_params['alert_id'])[:64]}
        try:
            body = await request.json()
        except (ValueError, RuntimeError):
            body = None
        kind = body.get('kind') if isinstance(body, dict) else None
        if isinstance(kind, str) and kind in COMMAND_KINDS:
            return kind, {'fields': sorted(str(k)[:32] for k in list(body)[:10] if k != 'kind')}
        return 'command', {'kind': str(kind)[:40]} if kind is not None else {}

    def need(session: Session, permission: str) -> None:
        if not session.can(permission):
            raise ApiError(403, 'forbidden', f'a {session.role} may not do this ({permission})')

    def known_robot(robot_id: str) -> None:
        if not hub.knows(robot_id):
            raise ApiError(404, 'unknown_robot', f'no robot {robot_id!r}')

    Reader = Annotated[Session, Depends(current)]
    Writer = Annotated[Session, Depends(writer)]
    Commander = Annotated[Session, Depends(commander)]

    def me_body(session: Session) -> dict:
        return {'user': session.user, 'role': session.role, 'permissions': permissions_of(session.role),
                'csrf': session.csrf, 'expires_at': session.expires_at, 'idle_s': auth.idle_s}

    # -- sessions -------------------------------------------------------------------------------------------
    @app.post('/api/login')
    def login(body: LoginIn, request: Request):
        token, session = auth.login(body.name, body.password, client_of(request))
        response = JSONResponse(me_body(session))
        response.set_cookie(SESSION_COOKIE, token, max_age=int(auth.absolute_s), path='/', httponly=True,
                            samesite='strict', secure=secure_cookies)
        return response

    @app.post('/api/logout', status_code=204)
    def logout(session: Writer, request: Request):
        unwatch_all(session, client_of(request), 'logged out')
        auth.logout(session, client_of(request))
        end_streams(lambda s: s.token_hash == session.token_hash)   # its open tabs' streams end now
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path='/', httponly=True, samesite='strict', secure=secure_cookies)
        return response

    @app.get('/api/me')
    def me(session: Reader):
        return me_body(session)

    @app.get('/api/health')
    def health():
        robots = hub.robots()
        return {'status': 'ok', 'storage': storage.engine, 'robots': len(robots),
                'online': sum(r['online'] for r in robots), 'stream_clients': stream.clients,
                'stream_dropped': stream.dropped}

    @app.get('/api/phrases')
    def phrases(session: Reader):
        """Quick replies for "say as the robot": a few of the robot's own phrasebook entries per language.
        Served from the phrasebook (not shipped in the page) so an operator's quick reply is the same reviewed
        translation the robot would say itself, in all eleven languages, edited in one place."""
        need(session, 'view')
        try:
            return quick_phrases()
        except (OSError, ValueError) as exc:
            raise ApiError(503, 'no_phrasebook', f'the phrasebook could not be read: {exc}'[:300]) from None

    # -- fleet ----------------------------------------------------------------------------------------------
    @app.get('/api/robots')
    def robots(session: Reader):
        need(session, 'view')
        return {'robots': hub.robots()}

    @app.get('/api/robots/{robot_id}')
    def robot(robot_id: str, session: Reader):
        need(session, 'view')
        known_robot(robot_id)
        return {**hub.robot(robot_id), 'alerts': storage.alerts(robot=robot_id, limit=50),
                'conversations': storage.conversations(robot=robot_id, limit=20)}

    @app.get('/api/robots/{robot_id}/transcript')
    def transcript(robot_id: str, session: Reader):
        need(session, 'view')
        known_robot(robot_id)
        return {'robot_id': robot_id, 'lines': hub.transcript(robot_id)}

    @app.get('/api/robots/{robot_id}/thumbnail')
    def thumbnail(robot_id: str, session: Reader):
        """The last blurred thumbnail (JPEG), 404 if none came (nobody watches, or an old robot)."""
        need(session, 'view')
        known_robot(robot_id)
        thumb = hub.thumbnail(robot_id)
        if thumb is None:
            raise ApiError(404, 'no_thumbnail', 'no thumbnail from this robot (watch it first)')
        import base64
        return Response(base64.b64decode(thumb['jpeg_b64']), media_type='image/jpeg')

    @app.post('/api/robots/{robot_id}/commands', status_code=202)
    def command(robot_id: str, body: CommandIn, session: Commander, request: Request):
        known_robot(robot_id)
        return send_command(robot_id, body, session, client_of(request))

    def send_command(robot_id: str, body: CommandIn, session: Session, client: str) -> dict:
        kind = body.kind
        detail: dict[str, Any] = {k: v for k, v in body.model_dump(exclude={'kind'}).items()
                                  if v is not None and not (k == 'force' and v is False)}
        if 'text' in detail:   # the audit is append-only and kept: no visitor's name or number in it (redact.py)
            detail['text'] = redact.mask(detail['text'], body.language)

        def refuse(status: int, code: str, message: str, **extra) -> ApiError:
            storage.audit(auth.clock(), session.user, kind, robot_id, detail, f'refused: {code}', client)
            return ApiError(status, code, message, **extra)

        permission = 'force_hand_back' if kind == 'hand_back' and body.force else kind
        if not session.can(permission):
            raise refuse(403, 'forbidden', f'a {session.role} may not {permission.replace("_", " ")}')
        holder = hub.holder(robot_id)
        if holder is not None and holder != session.user and (
                kind in ('take_over', 'say') or (kind == 'hand_back' and not body.force)):
            raise refuse(409, 'held', f'held by {holder}', holder=holder)
        command_id = uuid.uuid4().hex
        fields: dict[str, Any] = {'command_id': command_id, 'operator': session.user}
        if kind == 'say':
            fields.update(text=body.text, language=body.language)
        elif kind == 'hand_back' and body.force:
            fields['force'] = True
        elif kind == 'acknowledge_alert':
            fields['alert_id'] = body.alert_id
        elif kind == 'watch':
            fields['watching'] = body.watching
        try:   # the robot's own model: what would not pass the robot's check is refused here first
            wire = COMMAND_KINDS[kind].model_validate(fields).model_dump(mode='json')
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            raise refuse(422, 'invalid', f'{".".join(map(str, first["loc"]))}: {first["msg"]}') from None
        if kind == 'acknowledge_alert' and storage.alert(robot_id, body.alert_id) is None:
            raise refuse(404, 'unknown_alert', f'no alert {body.alert_id!r} of {robot_id}')
        try:
            sender.send(robot_id, kind, wire)
        except (FleetError, OSError, RuntimeError) as exc:
            storage.audit(auth.clock(), session.user, kind, robot_id, {**detail, 'command_id': command_id},
                          f'failed: {exc}'[:200], client)
            raise ApiError(503, 'not_sent', f'the command could not be sent: {exc}'[:300]) from None
        hub.command_sent(robot_id, kind, command_id, session.user)
        if kind == 'watch':
            with lock:
                watcher_names[session.token_hash] = session.user
                robots = watching.setdefault(session.token_hash, set())
                (robots.add if body.watching else robots.discard)(robot_id)
        storage.audit(auth.clock(), session.user, kind, robot_id, {**detail, 'command_id': command_id}, 'sent',
                      client)
        if kind == 'acknowledge_alert':
            alert = storage.update_alert(robot_id, body.alert_id, 'acknowledged', at=auth.clock(), by=session.user)
            hub._emit({'type': 'alert', 'alert': alert})
        return {'command_id': command_id, 'robot_id': robot_id, 'kind': kind, 'result': 'sent'}

    def unwatch_all(session: Session, client: str, why: str) -> None:
        with lock:
            watcher_names.pop(session.token_hash, None)
            robots = watching.pop(session.token_hash, set())
        for robot_id in sorted(robots):
            try:
                send_command(robot_id, CommandIn(kind='watch', watching=False, reason=why), session, client)
            except ApiError as exc:   # audited by send_command; the robot forgets the watcher after watch_ttl_s
                log.info('unwatch %s for %s: %s', robot_id, session.user, exc.message)

    # -- alerts ---------------------------------------------------------------------------------------------
    @app.get('/api/alerts')
    def alerts(session: Reader, state: Annotated[Optional[list[str]], Query()] = None,
               robot: Optional[str] = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200):
        need(session, 'view')
        return {'alerts': storage.alerts(states=state, robot=robot, limit=limit)}

    @app.post('/api/alerts/{robot_id}/{alert_id}/ack', status_code=202)
    def ack_alert(robot_id: str, alert_id: str, session: Commander, request: Request):
        known_robot(robot_id)
        return send_command(robot_id, CommandIn(kind='acknowledge_alert', alert_id=alert_id), session,
                            client_of(request))

    @app.post('/api/alerts/{robot_id}/{alert_id}/assign')
    def assign_alert(robot_id: str, alert_id: str, body: AssignIn, session: Writer, request: Request):
        detail = {'alert_id': alert_id, 'assignee': body.assignee}
        if not session.can('assign_alert'):
            storage.audit(auth.clock(), session.user, 'assign_alert', robot_id, detail, 'refused: forbidden',
                          client_of(request))
            raise ApiError(403, 'forbidden', f'a {session.role} may not assign alerts')
        alert = storage.update_alert(robot_id, alert_id, 'assigned', at=auth.clock(), by=session.user,
                                     assignee=body.assignee)
        if alert is None:
            raise ApiError(404, 'unknown_alert', f'no alert {alert_id!r} of {robot_id!r}')
        storage.audit(auth.clock(), session.user, 'assign_alert', robot_id, detail, 'ok', client_of(request))
        hub._emit({'type': 'alert', 'alert': alert})
        return alert

    # -- audit, analytics -----------------------------------------------------------------------------------
    @app.get('/api/audit')
    def audit(session: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100, before_id: Optional[int] = None,
              robot: Optional[str] = None, actor: Optional[str] = None, action: Optional[str] = None):
        need(session, 'audit')
        return {'entries': storage.audit_log(limit=limit, before_id=before_id, robot=robot, actor=actor,
                                             action=action)}

    def analytics_of(since: Optional[float], until: Optional[float]) -> dict:
        now = auth.clock()
        since = now - 24 * 3600 if since is None else since
        until = now + 3600 if until is None else until
        rows = storage.aggregates(since=since - since % 3600, until=until)
        entrance = {r['robot_id']: r['entrance'] for r in hub.robots()}
        hours, by_entrance, languages = [], {}, Counter()
        buckets = [0] * (len(LATENCY_EDGES_MS) + 1)
        for row in rows:
            where = entrance.get(row['robot'])
            hours.append({'hour': row['hour'], 'robot': row['robot'], 'entrance': where, 'seen': row['seen'],
                          'engaged': row['engaged'], 'served': row['served']})
            total = by_entrance.setdefault((row['hour'], where), {'hour': row['hour'], 'entrance': where,
                                                                  'seen': 0, 'engaged': 0, 'served': 0})
            for key in ('seen', 'engaged', 'served'):
                total[key] += row[key]
            languages.update(row['languages'])
            buckets = [a + b for a, b in zip(buckets, row['latency_buckets'], strict=True)]
        unanswered = Counter()
        for conv in storage.conversations(since=since, until=until, limit=10000):
            for question in conv['unanswered']:
                unanswered[(question.strip(), conv['language'])] += 1
        return {'since': since, 'until': until, 'hours': hours, 'by_entrance': list(by_entrance.values()),
                'languages': dict(languages), 'latency_ms': latency_percentiles(buckets),
                'unanswered': [{'text': text, 'language': lang, 'count': n}
                               for (text, lang), n in unanswered.most_common(50)]}

    @app.get('/api/analytics')
    def analytics(session: Reader, since: Optional[float] = None, until: Optional[float] = None):
        need(session, 'view')
        return analytics_of(since, until)

    @app.get('/api/analytics/export')
    def analytics_export(session: Reader, request: Request, since: Optional[float] = None,
                         until: Optional[float] = None):
        need(session, 'analytics_export')
        data = analytics_of(since, until)
        out = io.StringIO()
        table = csv.writer(out)
        table.writerow(['hour', 'robot', 'entrance', 'seen', 'engaged', 'served'])
        for row in data['hours']:
            table.writerow([row['hour'], row['robot'], row['entrance'] or '', row['seen'], row['engaged'],
                            row['served']])
        storage.audit(auth.clock(), session.user, 'analytics_export', None, {'since': data['since'],
                                                                             'until': data['until']}, 'ok',
                      client_of(request))
        return Response(out.getvalue(), media_type='text/csv; charset=utf-8',
                        headers={'Content-Disposition': 'attachment; filename="caexpo-analytics.csv"'})

    # -- users ----------------------------------------------------------------------------------------------
    @app.get('/api/users')
    def users(session: Reader):
        need(session, 'users')
        return {'users': [{k: v for k, v in u.items() if k != 'password_hash'} for u in storage.users()],
                'roles': list(ROLES)}

    @app.post('/api/users', status_code=201)
    def add_user(body: UserIn, session: Writer, request: Request):
        need(session, 'users')
        try:
            auth.add_user(body.name, body.role, body.password, actor=session.user, client=client_of(request))
        except UserError as exc:
            raise ApiError(400, 'bad_user', str(exc)) from None
        return {'name': body.name, 'role': body.role}

    @app.put('/api/users/{name}')
    def change_user(name: str, body: UserChange, session: Writer, request: Request):
        need(session, 'users')
        try:
            changed = auth.set_user(name, role=body.role, password=body.password, disabled=body.disabled,
                                    actor=session.user, client=client_of(request))
        except UserError as exc:
            raise ApiError(400, 'bad_user', str(exc)) from None
        if not changed:
            raise ApiError(404, 'unknown_user', f'no user {name!r}')
        if body.disabled or body.role is not None or body.password is not None:   # their sessions ended: so do
            end_streams(lambda s: s.user == name)                                # their streams, now
        return {k: v for k, v in storage.user(name).items() if k != 'password_hash'}

    # -- stream ---------------------------------------------------------------------------------------------
    @app.get('/api/stream')
    async def events(request: Request):
        """Server-sent events: `snapshot` (robots, open alerts), then `robot`, `transcript`, `alert`, `ack`,
        `thumbnail`, `conversation` deltas; `dropped` before the server closes a client too slow to keep up."""
        token = request.cookies.get(SESSION_COOKIE)
        session = await asyncio.to_thread(auth.session, token)
        if session is None:
            raise ApiError(401, 'unauthenticated', 'log in first')
        if closing.is_set():
            raise ApiError(503, 'shutting_down', 'the console is stopping')
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=stream_queue)
        overflow = asyncio.Event()
        ended = asyncio.Event()

        def end_now():           # on the loop: wake the generator if it waits for an event
            ended.set()
            if queue.empty():
                queue.put_nowait(None)

        def end():               # any thread
            try:
                loop.call_soon_threadsafe(end_now)
            except RuntimeError:   # the loop is already closed: nothing left to end
                pass

        def offer(event):
            if overflow.is_set():
                return
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                overflow.set()
                stream.dropped += 1

        def listener(event):     # on whichever thread the hub changed: hand over to the loop
            if event.get('type') == 'thumbnail' and event.get('robot_id') not in watching.get(session.token_hash, ()):
                return   # a robot's pictures (~130 kB a second) only to the sessions watching it
            loop.call_soon_threadsafe(offer, event)

        unsubscribe = hub.subscribe(listener)
        snapshot = await asyncio.to_thread(hub.snapshot)

        async def body():
            stream.clients += 1
            with lock:
                open_streams[session.token_hash] += 1
                stream_enders[end] = session
            if closing.is_set():     # close_streams() ran between the check above and the registration
                end_now()
            try:
                yield sse(snapshot)
                # The session is re-checked every stream_session_check_s whatever the traffic (it was only
                # re-checked after stream_ping_s without any event, and events come more often than that).
                last_sent = last_check = loop.time()
                while True:
                    if ended.is_set():
                        return
                    if overflow.is_set():
                        yield sse({'type': 'dropped', 'reason': 'client too slow'})
                        return
                    if loop.time() - last_check >= stream_session_check_s:
                        last_check = loop.time()
                        if await request.is_disconnected() or await asyncio.to_thread(auth.session, token) is None:
                            return
                    wait = min(last_sent + stream_ping_s, last_check + stream_session_check_s) - loop.time()
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=max(0.0, wait))
                    except asyncio.TimeoutError:
                        if loop.time() - last_sent >= stream_ping_s:
                            last_sent = loop.time()
                            yield ': ping\n\n'
                        continue
                    if event is None:    # end_now's wake-up
                        continue
                    stream.sent += 1
                    last_sent = loop.time()
                    yield sse(event)
            finally:
                with lock:
                    stream_enders.pop(end, None)
                    open_streams[session.token_hash] -= 1
                    last = open_streams[session.token_hash] <= 0
                    if last:
                        del open_streams[session.token_hash]
                stream.clients -= 1
                unsubscribe()
                if last:
                    # not awaited: a closed connection cancels this generator, and an await here would too
                    loop.run_in_executor(None, unwatch_all, session, client_of(request), 'stream closed')

        return StreamingResponse(body(), media_type='text/event-stream',
                                 headers={'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no'})

    if static_dir is not None and Path(static_dir).is_dir():
        from fastapi.staticfiles import StaticFiles
        app.mount('/', StaticFiles(directory=str(static_dir), html=True), name='static')
    wrapped = SecurityHeaders(app, https=secure_cookies)
    wrapped.state = app.state
    wrapped.fastapi = app
    return wrapped


QUICK_REPLY_KEYS = ('hello', 'offer_help', 'one_moment', 'please_wait', 'not_understood', 'call_staff', 'use_screen',
                    'farewell')


@functools.lru_cache(maxsize=1)
def quick_phrases() -> dict:
    """The languages (code, names) and, per language, the QUICK_REPLY_KEYS phrases it has in its own words (an
    English fallback is left out: the robot would read English text with that language's voice)."""
    from caexpo_robot.language.languages import LANGUAGE_INFO, LANGUAGES
    from caexpo_robot.language.phrasebook import Phrasebook
    book = Phrasebook.load()
    phrases = {}
    for code in LANGUAGES:
        said = [book.say(key, code) for key in QUICK_REPLY_KEYS]
        phrases[code] = [{'key': p.key, 'text': p.text} for p in said if p.fallback_from is None]
    return {'languages': [{'code': c, 'name': LANGUAGE_INFO[c].english_name, 'native': LANGUAGE_INFO[c].native_name}
                          for c in LANGUAGES], 'phrases': phrases}


def sse(event: dict) -> str:
    """One server-sent event: `event: <type>` and the JSON on one data line (JSON escapes newlines)."""
    return f'event: {event.get("type", "message")}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n'


def latency_percentiles(buckets: list[int]) -> dict:
    """p50/p90/p99 from the histogram: the upper edge of the bucket holding that rank (ms); `over` says a
    percentile fell above the last edge (then it is the last edge, a lower bound)."""
    total = sum(buckets)
    out: dict[str, Any] = {'count': total, 'edges_ms': list(LATENCY_EDGES_MS), 'buckets': buckets}
    for name, q in (('p50', 0.5), ('p90', 0.9), ('p99', 0.99)):
        if not total:
            out[name] = None
            continue
        rank, seen = q * total, 0
        for index, count in enumerate(buckets):
            seen += count
            if seen >= rank:
                out[name] = LATENCY_EDGES_MS[min(index, len(LATENCY_EDGES_MS) - 1)]
                if index == len(LATENCY_EDGES_MS):
                    out[f'{name}_over'] = True
                break
    return out


__all__ = ['ApiError', 'create_app', 'sse']
