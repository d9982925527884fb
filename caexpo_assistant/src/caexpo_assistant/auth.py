"""Who is calling: per-robot and staff bearer tokens (`Authorization: Bearer <token>`).

Tokens come from the server's environment or a tokens file named in its settings, never from the
repository:

- `CAEXPO_ASSISTANT_ROBOT_TOKENS="greeter-1:<token>,greeter-2:<token>"` and
  `CAEXPO_ASSISTANT_STAFF_TOKENS="desk-a:<token>"` (name:token pairs, comma or newline separated);
- `tokens_file` (server.yaml): YAML `{robots: {greeter-1: <token>}, staff: {desk-a: <token>}}`.

A value may be written `sha256:<64 hex digits>` (the SHA-256 of the token, see `token_hash`) so the
configuration holds no usable secret. The server keeps only hashes: a presented token is hashed and
compared with every known hash by `hmac.compare_digest`, all of them every time (no early exit), so
the time taken tells nothing about which tokens exist.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import yaml

Role = Literal['robot', 'staff']
ROBOT_TOKENS_ENV = 'CAEXPO_ASSISTANT_ROBOT_TOKENS'
STAFF_TOKENS_ENV = 'CAEXPO_ASSISTANT_STAFF_TOKENS'
MIN_TOKEN_CHARS = 16
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')   # the contract's Identifier
_HASHED = re.compile(r'^sha256:([0-9a-f]{64})$')
_TOKEN = re.compile(r'^[\x21-\x7e]+$')                     # printable ASCII, no spaces


class TokenError(ValueError):
    """A token configuration that cannot be used; the text names the source and the entry."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a robot (its robot_id) or a staff member (a name for the audit)."""
    name: str
    role: Role


def token_hash(token: str) -> str:
    """`sha256:<hex>`: what a tokens file may hold instead of the token itself."""
    return 'sha256:' + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


class TokenRegistry:
    """The known tokens, by hash. Thread-safe; `issue` adds tokens at run time (tests, the simulator)."""

    def __init__(self):
        self._entries: list[tuple[bytes, Principal]] = []
        self._issued: dict[Principal, str] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def principals(self) -> set[Principal]:
        with self._lock:
            return {principal for _, principal in self._entries}

    def add(self, name: str, role: Role, value: str, source: str = 'tokens') -> None:
        """Register `value` (a token, or `sha256:<hex>` of one) for the principal `name` of `role`."""
        if not _NAME.match(name or ''):
            raise TokenError(f'{source}: {name!r}: a {role} name is letters, digits, ".", "_" and "-" (max 64)')
        value = (value or '').strip()
        hashed = _HASHED.match(value)
        if hashed:
            digest = bytes.fromhex(hashed[1])
        elif len(value) < MIN_TOKEN_CHARS or not _TOKEN.match(value):
            raise TokenError(f'{source}: {name}: a token is at least {MIN_TOKEN_CHARS} printable characters without '
                             'spaces (e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"), '
                             'or sha256:<64 hex digits>')
        else:
            digest = hashlib.sha256(value.encode()).digest()
        principal = Principal(name, role)
        with self._lock:
            for known, owner in self._entries:
                if hmac.compare_digest(known, digest) and owner != principal:
                    raise TokenError(f'{source}: {name}: the same token is already {owner.role} {owner.name}\'s')
            self._entries.append((digest, principal))

    def authenticate(self, token: str | None) -> Optional[Principal]:
        """The principal whose token this is, else None."""
        if not token:
            return None
        digest = hashlib.sha256(token.encode('utf-8', 'surrogateescape')).digest()
        found = None
        with self._lock:
            entries = list(self._entries)
        for known, principal in entries:   # every entry, no early exit
            if hmac.compare_digest(known, digest):
                found = principal
        return found

    def issue(self, name: str, role: Role) -> str:
        """A token for `name` (one per principal: asking again returns the same token)."""
        principal = Principal(name, role)
        with self._lock:
            token = self._issued.get(principal)
        if token is None:
            token = new_token()
            self.add(name, role, token, 'issued')
            with self._lock:
                token = self._issued.setdefault(principal, token)
        return token


def parse_pairs(text: str, role: Role, source: str, registry: TokenRegistry) -> None:
    """`name:token` pairs separated by commas or newlines (an environment variable's value)."""
    for item in re.split(r'[,\n]', text or ''):
        item = item.strip()
        if not item:
            continue
        name, sep, token = item.partition(':')
        if not sep:
            raise TokenError(f'{source}: an entry is name:token (got one without ":")')
        registry.add(name.strip(), role, token.strip(), source)


def load_tokens_file(path: str | Path, registry: TokenRegistry) -> None:
    """YAML `{robots: {name: token}, staff: {name: token}}`; refuses other keys and a file others can read."""
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
        mode = path.stat().st_mode
    except OSError as exc:
        raise TokenError(f'{path}: cannot read: {exc.strerror or exc}') from None
    if mode & 0o077:
        raise TokenError(f'{path}: readable by others (mode {mode & 0o777:o}): chmod 600 {path}')
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TokenError(f'{path}: not valid YAML: {exc}') from None
    if not isinstance(data, dict) or set(data) - {'robots', 'staff'}:
        raise TokenError(f'{path}: expected the keys robots and staff (each a mapping name: token)')
    for key, role in (('robots', 'robot'), ('staff', 'staff')):
        entries = data.get(key) or {}
        if not isinstance(entries, dict):
            raise TokenError(f'{path}: {key}: expected a mapping name: token')
        for name, token in entries.items():
            registry.add(str(name), role, str(token), f'{path}: {key}')


def registry_from(tokens_file: str | Path | None = None, environ: dict | None = None) -> TokenRegistry:
    """Every token of the tokens file and of the environment variables (both may be used together)."""
    environ = os.environ if environ is None else environ
    registry = TokenRegistry()
    if tokens_file:
        load_tokens_file(tokens_file, registry)
    parse_pairs(environ.get(ROBOT_TOKENS_ENV, ''), 'robot', ROBOT_TOKENS_ENV, registry)
    parse_pairs(environ.get(STAFF_TOKENS_ENV, ''), 'staff', STAFF_TOKENS_ENV, registry)
    return registry


def bearer_token(authorization: str | None) -> Optional[str]:
    """The token of an `Authorization: Bearer <token>` header value, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(' ')
    token = token.strip()
    return token if scheme.lower() == 'bearer' and token else None
