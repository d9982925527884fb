"""The robot's side of the assistant contract: a resilient, non-blocking client.

The caller's thread (the ROS executor) only enqueues: every turn runs on the client's own asyncio
loop thread, and the answer arrives through a callback. Whatever the backend does (down, slow, 5xx,
garbage, connection reset), the visitor hears a reply in their language before the deadline: the
backend's, or the canned one. Every reply carries its compact spoken form (`spoken`: the backend's,
else the first sentences of its text within ~10 s of speech, contract.spoken_form); the full text
and the actions are for the screen. A circuit breaker makes a dead backend cost nothing per visitor.
Phrases are never hard-coded here: `filler_text(language)` and `canned_reply(language)` come from
the robot's phrasebook. Requests and replies are the models of `contract.py`, the same ones the
reference assistant serves: a reply that does not validate is a failed turn (canned answer, counted
by the breaker). So is a reply in another language than the one asked, a body that is not
`application/json`, larger than `max_reply_bytes` or badly encoded (Content-Encoding), and any error
at all while reading it: on_reply fires exactly once per ask() whatever the backend sends.
Every request carries the robot's token (`Authorization: Bearer <token>`) when it has one; the backend
refuses requests without it (401: a failed turn that the breaker does not count, the backend answered).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Literal, Optional

import httpx
from pydantic import BaseModel, ValidationError

from caexpo_robot.backend.contract import (
    FALLBACK_ACTIONS,
    FALLBACK_INTENT,
    MAX_TEXT_CHARS,
    SessionCreate,
    SessionOut,
    TurnIn,
    TurnOut,
    spoken_form,
)
from caexpo_robot.language.languages import LANGUAGES

log = logging.getLogger('caexpo_robot.backend')
_TOKEN = re.compile(r'^[\x21-\x7e]{1,512}$')   # printable ASCII, no spaces: nothing that could split a header


@dataclass(frozen=True)
class AssistantReply:
    text: str
    language: str
    intent: str
    actions: list[dict]
    end_session: bool
    source: Literal['backend', 'canned']
    error: Optional[str]
    latency_s: float
    spoken: str = ''     # what the robot says (compact); `text` and the actions go to the screen


def fallback_reply(text: str, language: str, error: str | None = None, latency_s: float = 0.0) -> AssistantReply:
    """The robot's own answer when the backend gives none (or there is no backend): `text` is the
    phrasebook's canned answer; the shape (intent, the offer to call staff) is defined here once."""
    return AssistantReply(text=text, language=language, intent=FALLBACK_INTENT,
                          actions=[dict(a) for a in FALLBACK_ACTIONS], end_session=False, source='canned',
                          error=error, latency_s=latency_s, spoken=spoken_form(text, language))


class ClientClosed(RuntimeError):
    """ask() after close()."""


class BackendError(Exception):
    """The backend did not give a usable answer; `breaker` says whether it counts as the backend failing
    (True), as the backend answering (False), or tells nothing because nothing was sent (None)."""

    def __init__(self, message: str, *, breaker: bool | None = True):
        super().__init__(message)
        self.breaker = breaker


class CircuitBreaker:
    """closed -> (N consecutive failures) -> open -> (reset_s) -> half_open: one trial turn -> closed or open.

    `clock` is any monotonic seconds source (injected: tests drive it by hand). Thread-safe: turns
    finish on the client's loop while status() reads from the caller's thread.
    """

    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic):
        if failures < 1 or reset_s <= 0:
            raise ValueError('breaker_failures must be >= 1 and breaker_reset_s > 0')
        self.failures_to_open, self.reset_s, self._clock = failures, reset_s, clock
        self.state = 'closed'
        self.consecutive_failures = 0
        self.opened_at = 0.0
        self._trial_in_flight = False
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self.state == 'closed':
                return True
            if self.state == 'open' and self._clock() - self.opened_at >= self.reset_s:
                self.state = 'half_open'
            if self.state == 'half_open' and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self.state, self.consecutive_failures, self._trial_in_flight = 'closed', 0, False

    def abandon(self) -> None:
        """A trial turn was cancelled before it learned anything: let the next turn try."""
        with self._lock:
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self.consecutive_failures += 1
            self._trial_in_flight = False
            if self.state == 'half_open' or self.consecutive_failures >= self.failures_to_open:
                self.state, self.opened_at = 'open', self._clock()


class TurnHandle:
    """What ask() returns at once. cancel() (visitor walked away) means no callback will fire."""

    def __init__(self, turn_id: str, future: concurrent.futures.Future):
        self.turn_id = turn_id
        self._future = future

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> bool:
        return self._future.cancel()

    def result(self, timeout: float | None = None) -> AssistantReply:
        """Blocks: for tests and scripts, never from a ROS callback."""
        return self._future.result(timeout)


@dataclass
class _Counters:
    turns: int = 0
    backend_replies: int = 0
    canned: int = 0
    failures: int = 0
    fillers: int = 0
    retries: int = 0
    truncated: int = 0
    callback_errors: int = 0
    sessions_opened: int = 0
    sessions_closed: int = 0
    last_error: Optional[str] = None
    errors: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Response:
    """What the client keeps of an HTTP response: status, media type and the body, read up to a cap."""
    status_code: int
    content_type: str
    content: bytes

    def json(self):
        return json.loads(self.content)


class AssistantClient:
    def __init__(self, base_url: str, robot_id: str, entrance: str, *, deadline_s: float = 3.0,
                 filler_after_s: float = 1.2, connect_timeout_s: float = 0.5, breaker_failures: int = 3,
                 breaker_reset_s: float = 20.0, filler_text: Callable[[str], str],
                 canned_reply: Callable[[str], str], clock: Callable[[], float] = time.monotonic,
                 retries: int = 2, backoff_s: float = 0.1, max_reply_bytes: int = 128 * 1024,
                 token: str | None = None):
        """`token`: this robot's bearer token for the backend (None: requests go without one)."""
        if not base_url.startswith(('http://', 'https://')):
            raise ValueError(f'base_url must start with http:// or https://, got {base_url!r}')
        if not 0 < deadline_s <= 60:
            raise ValueError('deadline_s must be in (0, 60]')
        if not 0 < connect_timeout_s <= deadline_s:
            raise ValueError('connect_timeout_s must be in (0, deadline_s]')
        if filler_after_s < 0 or retries < 0 or backoff_s < 0:
            raise ValueError('filler_after_s, retries and backoff_s must be >= 0')
        if not 1024 <= max_reply_bytes <= 16 * 1024 * 1024:
            raise ValueError('max_reply_bytes must be in [1024, 16 MiB]')
        if token is not None and not _TOKEN.match(token):
            raise ValueError('token must be 1-512 printable ASCII characters without spaces')
        if token and base_url.startswith('http://') and httpx.URL(base_url).host not in ('127.0.0.1', 'localhost',
                                                                                         '::1'):
            log.warning('the assistant token is sent over plain http to %s: use https outside loopback', base_url)
        self._headers = {'User-Agent': 'caexpo-robot/1'}
        if token:
            self._headers['Authorization'] = f'Bearer {token}'
        self.max_reply_bytes = max_reply_bytes
        self.base_url = base_url.rstrip('/')
        self.robot_id, self.entrance = robot_id, entrance
        self.deadline_s, self.filler_after_s, self.connect_timeout_s = deadline_s, filler_after_s, connect_timeout_s
        self.retries, self.backoff_s = retries, backoff_s
        self._filler_text, self._canned_reply, self._clock = filler_text, canned_reply, clock
        self._breaker = CircuitBreaker(breaker_failures, breaker_reset_s, clock)
        self._counts = _Counters()
        self._counts_lock = threading.Lock()
        self._sessions: dict[str, asyncio.Task] = {}   # visitor id -> task resolving to a session id (loop thread only)
        self._closed = False
        self._close_lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._http: httpx.AsyncClient | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run_loop, args=(ready,), name='assistant-client', daemon=True)
        self._thread.start()
        ready.wait()

    # -- caller-side API (any thread; never blocks) --------------------------------------------------
    def ask(self, visitor_id: str, text: str, language: str, on_reply: Callable[[AssistantReply], None],
            on_filler: Callable[[str, str], None] | None = None, *, visitor: dict | None = None) -> TurnHandle:
        """Send one visitor utterance; returns at once. on_reply fires exactly once (unless the handle is
        cancelled or the client closed), on the client's thread, within deadline_s; on_filler(text, language)
        fires at most once, if no reply came within filler_after_s. `visitor`: optional hints for the
        backend ({"name", "company", "contact"}), e.g. the name a meeting is booked under."""
        if self._closed:
            raise ClientClosed('the assistant client is closed')
        if language not in LANGUAGES:
            raise ValueError(f'unsupported language {language!r}; expected one of {", ".join(LANGUAGES)}')
        if not isinstance(text, str) or not text.strip():
            raise ValueError('text must be a non-empty string')
        text = text.strip()
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS]
            self._count('truncated')
        started = self._clock()
        turn_id = uuid.uuid4().hex
        payload: dict = {'text': text, 'language': language}
        if visitor:
            payload['visitor'] = {k: str(v) for k, v in visitor.items() if k in ('name', 'company', 'contact') and v}
        future = asyncio.run_coroutine_threadsafe(
            self._turn(turn_id, str(visitor_id), payload, on_reply, on_filler, started), self._loop)
        return TurnHandle(turn_id, future)

    def end_visit(self, visitor_id: str) -> None:
        """Forget the visitor and close their backend session in the background (best effort)."""
        if not self._closed:
            asyncio.run_coroutine_threadsafe(self._end_visit(str(visitor_id)), self._loop)

    def status(self) -> dict:
        with self._counts_lock:
            counts = {k: v for k, v in vars(self._counts).items() if k != 'errors'}
            counts['errors'] = dict(self._counts.errors)
        counts.update(breaker=self._breaker.state, consecutive_failures=self._breaker.consecutive_failures,
                      base_url=self.base_url, closed=self._closed, token='Authorization' in self._headers)
        return counts

    def close(self) -> None:
        """Cancel pending turns (no callbacks), close connections, join the thread. Safe to call twice."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        except (concurrent.futures.TimeoutError, RuntimeError):
            log.warning('assistant client shutdown timed out')
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    # -- loop thread ----------------------------------------------------------------------------
    def _run_loop(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=self._headers,
                                       limits=httpx.Limits(max_connections=16, max_keepalive_connections=4))
        ready.set()
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        current = asyncio.current_task()
        for task in asyncio.all_tasks():
            if task is not current:
                task.cancel()
        await self._http.aclose()

    def _count(self, name: str, error: str | None = None) -> None:
        with self._counts_lock:
            setattr(self._counts, name, getattr(self._counts, name) + 1)
            if error:
                self._counts.last_error = error
                kind = error.split(':')[0]
                self._counts.errors[kind] = self._counts.errors.get(kind, 0) + 1

    def _remaining(self, started: float) -> float:
        return self.deadline_s - (self._clock() - started)

    async def _turn(self, turn_id, visitor_id, payload, on_reply, on_filler, started) -> AssistantReply:
        """Always ends in exactly one on_reply (unless cancelled): the backend's reply, or the canned one
        whatever went wrong, by the deadline plus a small guard margin at the latest."""
        language = payload['language']
        self._count('turns')
        filler = None
        if on_filler is not None:
            delay = max(0.0, self.filler_after_s - (self._clock() - started))
            filler = self._loop.call_later(delay, self._fire_filler, on_filler, language)
        try:
            if not self._breaker.allow():
                reply = self._canned(language, f'breaker_{self._breaker.state}', started)
            else:
                # The inner turn stops itself at the deadline; this guard only catches what slips past it.
                guard_s = max(0.0, self._remaining(started)) + min(0.05, 0.02 * self.deadline_s)
                try:
                    reply = await asyncio.wait_for(self._backend_turn(turn_id, visitor_id, payload, started),
                                                   timeout=guard_s)
                except asyncio.TimeoutError:
                    self._breaker.record_failure()
                    reply = self._canned(language, f'deadline: no reply within {self.deadline_s} s (guard)', started)
                except Exception as exc:  # anything at all (RecursionError, a decoder, a bug): a failed turn
                    self._breaker.record_failure()
                    log.warning('assistant turn failed unexpectedly: %s: %s', type(exc).__name__, exc)
                    reply = self._canned(language, f'internal: {type(exc).__name__}: {str(exc)[:200]}', started)
        finally:
            if filler is not None:
                filler.cancel()
        try:
            on_reply(reply)
        except Exception:  # a broken callback must not kill the client's loop
            self._count('callback_errors')
            log.exception('on_reply callback failed')
        return reply

    async def _backend_turn(self, turn_id, visitor_id, payload, started) -> AssistantReply:
        language = payload['language']
        try:
            body = await asyncio.wait_for(self._exchange(turn_id, visitor_id, payload, started),
                                          timeout=max(0.0, self._remaining(started)))
        except asyncio.CancelledError:
            self._breaker.abandon()
            raise
        except asyncio.TimeoutError:
            self._breaker.record_failure()
            return self._canned(language, f'deadline: no reply within {self.deadline_s} s', started)
        except BackendError as exc:
            if exc.breaker is None:
                self._breaker.abandon()  # refused before sending: says nothing about the backend
            elif exc.breaker:
                self._breaker.record_failure()
            else:
                self._breaker.record_success()  # the backend answered; our request was at fault
            return self._canned(language, str(exc), started)
        self._breaker.record_success()
        self._count('backend_replies')
        return AssistantReply(text=body.reply, language=body.language, intent=body.intent,
                              actions=[action.model_dump() for action in body.actions], end_session=body.end_session,
                              source='backend', error=None, latency_s=self._clock() - started,
                              spoken=body.spoken or spoken_form(body.reply, body.language))

    async def _exchange(self, turn_id, visitor_id, payload, started) -> TurnOut:
        body = _request_body(TurnIn, payload)  # e.g. markup in a visitor's name: refused before sending
        for attempt in range(2):
            session_id = await self._session(visitor_id, payload['language'], started)
            response = await self._request('POST', f'/v1/sessions/{session_id}/turns', started, json=body,
                                           headers={'Idempotency-Key': turn_id})
            if response.status_code in (404, 409) and attempt == 0 and \
                    _error_code(response) in ('unknown_session', 'session_ended'):
                self._sessions.pop(visitor_id, None)  # the backend restarted or expired it: open a new one
                continue
            break
        if response.status_code != 200:
            raise BackendError(f'rejected: HTTP {response.status_code} {_error_code(response)}',
                               breaker=response.status_code >= 500)
        reply = _parse(TurnOut, response, 'reply')
        if reply.language != payload['language']:
            raise BackendError(f'malformed: reply: language {reply.language!r}, asked {payload["language"]!r}')
        return reply

    async def _session(self, visitor_id: str, language: str, started: float) -> str:
        task = self._sessions.get(visitor_id)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = asyncio.ensure_future(self._open_session(language, started))
            self._sessions[visitor_id] = task
        try:
            return await asyncio.shield(task)
        except BaseException:
            if self._sessions.get(visitor_id) is task and task.done():
                self._sessions.pop(visitor_id, None)
            raise

    async def _open_session(self, language: str, started: float) -> str:
        body = _request_body(SessionCreate, {'robot_id': self.robot_id, 'entrance': self.entrance,
                                             'language': language})
        response = await self._request('POST', '/v1/sessions', started, json=body,
                                       headers={'Idempotency-Key': uuid.uuid4().hex})
        if response.status_code != 201:
            raise BackendError(f'rejected: session HTTP {response.status_code} {_error_code(response)}',
                               breaker=response.status_code >= 500)
        session = _parse(SessionOut, response, 'session reply')
        self._count('sessions_opened')
        return session.session_id

    async def _request(self, method: str, url: str, started: float, **kwargs) -> _Response:
        """One call with retries on transport errors and 5xx (safe: every write carries an Idempotency-Key)."""
        error = 'connection: no attempt'
        for attempt in range(self.retries + 1):
            remaining = self._remaining(started)
            if remaining <= 0:
                break
            timeout = httpx.Timeout(remaining, connect=min(self.connect_timeout_s, remaining))
            try:
                response = await self._send(method, url, timeout, **kwargs)
            except httpx.TimeoutException as exc:
                error = f'timeout: {type(exc).__name__}'
            except httpx.TransportError as exc:
                error = f'connection: {type(exc).__name__}'
            except httpx.DecodingError as exc:  # e.g. Content-Encoding: gzip over bytes that are not gzip
                raise BackendError(f'decoding: {type(exc).__name__}: {str(exc)[:200]}') from None
            except httpx.HTTPError as exc:
                raise BackendError(f'connection: {type(exc).__name__}: {str(exc)[:200]}') from None
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                error = f'server: HTTP {response.status_code}'
            pause = self.backoff_s * (2 ** attempt)
            if attempt == self.retries or self._remaining(started) <= pause:
                break
            self._count('retries')
            await asyncio.sleep(pause)
        raise BackendError(error)

    async def _send(self, method: str, url: str, timeout: httpx.Timeout, **kwargs) -> _Response:
        """The response with its body read (decoded) up to max_reply_bytes: a larger one is refused,
        before reading when Content-Length says so, else as soon as the cap is passed."""
        request = self._http.build_request(method, url, timeout=timeout, **kwargs)
        response = await self._http.send(request, stream=True)
        try:
            declared = response.headers.get('content-length', '')
            if declared.isdigit() and int(declared) > self.max_reply_bytes:
                raise BackendError(f'oversized: reply of {declared} bytes (limit {self.max_reply_bytes})')
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_reply_bytes:
                    raise BackendError(f'oversized: reply of more than {self.max_reply_bytes} bytes')
                chunks.append(chunk)
        finally:
            await response.aclose()
        content_type = response.headers.get('content-type', '').split(';')[0].strip().lower()
        return _Response(response.status_code, content_type, b''.join(chunks))

    async def _end_visit(self, visitor_id: str) -> None:
        task = self._sessions.pop(visitor_id, None)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return
        if self._breaker.state != 'closed':
            return  # best effort only: the backend's session simply stays idle
        try:
            await self._send('DELETE', f'/v1/sessions/{task.result()}', httpx.Timeout(self.deadline_s))
            self._count('sessions_closed')
        except (httpx.HTTPError, BackendError) as exc:
            log.info('closing the backend session failed: %s', exc)

    def _fire_filler(self, on_filler: Callable[[str, str], None], language: str) -> None:
        try:
            text = self._filler_text(language)
            self._count('fillers')
            on_filler(text, language)
        except Exception:
            self._count('callback_errors')
            log.exception('filler callback failed')

    def _canned(self, language: str, error: str, started: float) -> AssistantReply:
        self._count('canned', error)
        if not error.startswith('breaker'):
            self._count('failures')
        text = ''
        for candidate in (language, 'en'):
            try:
                text = self._canned_reply(candidate)
                break
            except Exception:
                self._count('callback_errors')
                log.exception('canned_reply(%r) failed', candidate)
        return fallback_reply(text, language, error, self._clock() - started)


def _error_code(response: _Response) -> str:
    try:
        return str(response.json()['error']['code'])[:64]
    except (ValueError, KeyError, TypeError, RecursionError):
        return 'no_error_body'


def _request_body(model: type[BaseModel], payload: dict) -> dict:
    """`payload` checked against the contract, as JSON-ready data; our own bad input is not the backend failing."""
    try:
        return model.model_validate(payload).model_dump(mode='json', exclude_none=True)
    except ValidationError as exc:
        raise BackendError(f'rejected: invalid {model.__name__}: {_first_problem(exc)}', breaker=None) from None


def _parse(model: type[BaseModel], response: _Response, what: str):
    """The response body as `model`; anything else (not JSON, a field missing or of the wrong kind, too
    deep, another media type) is malformed."""
    if response.content_type != 'application/json' and not response.content_type.endswith('+json'):
        raise BackendError(f'malformed: {what}: Content-Type {response.content_type[:64]!r}, '
                           'expected application/json')
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise BackendError(f'malformed: {what}: {_first_problem(exc)}') from None
    except (ValueError, RecursionError) as exc:
        raise BackendError(f'malformed: {what}: {type(exc).__name__}') from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    where = '.'.join(str(part) for part in error['loc'])
    return f'{where}: {error["msg"]}' if where else error['msg']
