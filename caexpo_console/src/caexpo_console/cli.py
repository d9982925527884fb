"""caexpo-console: serve the operators' console, manage its users.

Passwords are read from standard input (a pipe: its first line) or typed at a hidden prompt, never taken
from the command line (which other users of the machine can see in the process list).
"""
from __future__ import annotations

import argparse
import getpass
import sys

from caexpo_robot.config_files import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='caexpo-console', description=__doc__)
    parser.add_argument('--config', help='console settings YAML (robots, keys file, zenoh endpoints, limits)')
    parser.add_argument('--db', help='SQLite file path, sqlite:///path or postgresql://user@host/db')
    sub = parser.add_subparsers(dest='command', required=True)
    serve_p = sub.add_parser('serve', help='run the console (HTTP API, event stream, fleet link)')
    serve_p.add_argument('--host', help='bind address (default 127.0.0.1; 0.0.0.0 only if you mean it)')
    serve_p.add_argument('--port', type=int, help='default 8780')
    users_p = sub.add_parser('users', help='add, list or disable console users')
    users_sub = users_p.add_subparsers(dest='users_command', required=True)
    add_p = users_sub.add_parser('add', help='add a user (password from stdin or a prompt)')
    add_p.add_argument('name')
    add_p.add_argument('--role', required=True, choices=('viewer', 'operator', 'supervisor', 'admin'))
    users_sub.add_parser('list', help='list users and roles')
    disable_p = users_sub.add_parser('disable', help='disable a user (their sessions end at once)')
    disable_p.add_argument('name')
    args = parser.parse_args(argv)

    from .server import NoRobots, load_settings, serve
    overrides = {key: value for key, value in (('db', args.db), ('host', getattr(args, 'host', None)),
                                               ('port', getattr(args, 'port', None))) if value is not None}
    try:
        settings = load_settings(args.config, overrides)
    except ConfigError as exc:
        print(f'caexpo-console: {exc}', file=sys.stderr)
        return 2
    if args.command == 'serve':
        try:
            serve(settings)
        except NoRobots as exc:
            print(f'caexpo-console: {exc}', file=sys.stderr)
            return 2
        return 0
    return users(args, settings)


def users(args, settings) -> int:
    import time

    from .auth import Auth, UserError
    from .storage import StorageError, open_storage
    try:
        storage = open_storage(settings.db)
    except StorageError as exc:
        print(f'caexpo-console: {exc}', file=sys.stderr)
        return 2
    try:
        auth = Auth(storage, time.time)
        if args.users_command == 'list':
            for user in storage.users():
                print('\t'.join([user['name'], user['role']] + (['disabled'] if user['disabled'] else [])))
            return 0
        if args.users_command == 'disable':
            if not auth.set_user(args.name, disabled=True, actor='cli'):
                print(f'caexpo-console: no user {args.name!r}', file=sys.stderr)
                return 1
            print(f'disabled {args.name}')
            return 0
        password = read_password()
        try:
            auth.add_user(args.name, args.role, password, actor='cli')
        except UserError as exc:
            print(f'caexpo-console: {exc}', file=sys.stderr)
            return 1
        print(f'added {args.name} ({args.role})')
        return 0
    finally:
        storage.close()


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip('\r\n')
    first = getpass.getpass('password: ')
    if getpass.getpass('again: ') != first:
        print('caexpo-console: the passwords differ', file=sys.stderr)
        raise SystemExit(1)
    return first


if __name__ == '__main__':
    sys.exit(main())
