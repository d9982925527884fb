"""caexpo-assistant: serve the reference assistant, load seed data, purge personal data, make tokens,
print the OpenAPI document."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from caexpo_robot.config_files import ConfigError

from .paths import data_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='caexpo-assistant', description=__doc__)
    parser.add_argument('--config', help=f'server YAML (default: {data_path("server.yaml")})')
    sub = parser.add_subparsers(dest='command', required=True)
    serve_p = sub.add_parser('serve', help='run the HTTP API')
    serve_p.add_argument('--host')
    serve_p.add_argument('--port', type=int)
    serve_p.add_argument('--db', help='sqlite:///path or postgresql://user:pass@host/db')
    serve_p.add_argument('--today', help='pin the expo day (YYYY-MM-DD) for demos')
    seed_p = sub.add_parser('load-seed', help='validate a seed folder and store it (replaces the catalog)')
    seed_p.add_argument('--db')
    seed_p.add_argument('folder', nargs='?', help=f'default: the packaged seed ({data_path("seed")})')
    purge_p = sub.add_parser('purge', help='delete visitors\' names and contacts past their retention (as the '
                                           'server does periodically)')
    purge_p.add_argument('--db')
    purge_p.add_argument('--now', type=_moment, help='purge as if it were this time (ISO 8601 with offset)')
    sub.add_parser('new-token', help='print a new random token and its sha256: form (for tokens_file)')
    sub.add_parser('openapi', help='print the OpenAPI document (JSON) of this version')
    args = parser.parse_args(argv)

    if args.command == 'openapi':
        print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))
        return 0
    if args.command == 'new-token':
        from .auth import new_token, token_hash
        token = new_token()
        print(f'token:  {token}\nhashed: {token_hash(token)}')
        return 0

    from .server import load_server_config, with_overrides
    flags = {'db': 'db_url', 'host': 'host', 'port': 'port', 'today': 'today'}
    try:
        settings = with_overrides(load_server_config(args.config),
                                  {key: getattr(args, flag) for flag, key in flags.items()
                                   if getattr(args, flag, None) is not None}, 'command line')
    except ConfigError as exc:
        print(f'caexpo-assistant: {exc}', file=sys.stderr)
        return 2

    if args.command == 'load-seed':
        from .catalog import SeedError
        from .service import load_seed
        from .storage import StorageError, open_storage
        folder = args.folder or data_path('seed')
        try:
            storage = open_storage(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous)
            try:
                version = load_seed(storage, folder)
            finally:
                storage.close()
        except (SeedError, StorageError) as exc:
            print(f'caexpo-assistant: {exc}', file=sys.stderr)
            return 2
        print(f'loaded {folder} into {settings.db_url} as catalog version {version}')
        return 0
    if args.command == 'purge':
        from .service import purge_personal_data
        from .storage import StorageError, open_storage
        try:
            storage = open_storage(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous)
            try:
                counts = purge_personal_data(storage, retention_s=settings.retention_s, now=args.now)
            finally:
                storage.close()
        except StorageError as exc:
            print(f'caexpo-assistant: {exc}', file=sys.stderr)
            return 2
        print('purged personal data: ' + ', '.join(f'{kind} {count}' for kind, count in counts.items()))
        return 0
    from .server import NoTokens, serve
    try:
        serve(settings)
    except NoTokens as exc:
        print(f'caexpo-assistant: {exc}', file=sys.stderr)
        return 2
    return 0


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError('give the time with its offset, e.g. 2025-09-19T00:05:00+08:00')
    return moment


def openapi_document() -> dict:
    """The schema the code generates, without touching any database."""
    import tempfile
    from pathlib import Path

    from .app import create_app, fastapi_app
    from .auth import TokenRegistry
    from .catalog import load_replies
    from .storage import SqliteStorage
    with tempfile.TemporaryDirectory() as tmp:
        storage = SqliteStorage(Path(tmp) / 'schema.sqlite3')
        try:
            app = create_app(storage, load_replies(data_path('replies')), tokens=TokenRegistry())
            return fastapi_app(app).openapi()
        finally:
            storage.close()


if __name__ == '__main__':
    sys.exit(main())
