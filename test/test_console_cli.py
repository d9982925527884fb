"""caexpo-console's command line: users added with the password from stdin (never argv), listed, disabled;
serve refuses to start without robot keys; settings validated."""
import io
import sys

import pytest
from caexpo_console.cli import main
from caexpo_console.storage import open_storage


def run(argv, stdin='', capsys=None, monkeypatch=None):
    monkeypatch.setattr(sys, 'stdin', io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_add_list_disable(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / 'console.sqlite3')
    assert run(['--db', db, 'users', 'add', 'ada', '--role', 'admin'], 'a long enough password\n', capsys,
               monkeypatch)[0] == 0
    assert run(['--db', db, 'users', 'add', 'vera', '--role', 'viewer'], 'another good password\n', capsys,
               monkeypatch)[0] == 0
    code, _, err = run(['--db', db, 'users', 'add', 'ada', '--role', 'viewer'], 'a long enough password\n', capsys,
                       monkeypatch)
    assert code == 1 and 'already exists' in err
    code, _, err = run(['--db', db, 'users', 'add', 'bob', '--role', 'viewer'], 'short\n', capsys, monkeypatch)
    assert code == 1 and 'password' in err
    assert run(['--db', db, 'users', 'disable', 'vera'], '', capsys, monkeypatch)[:2] == (0, 'disabled vera\n')
    code, out, _ = run(['--db', db, 'users', 'list'], '', capsys, monkeypatch)
    assert code == 0 and out.splitlines() == ['ada\tadmin', 'vera\tviewer\tdisabled']
    storage = open_storage(db)
    try:
        user = storage.user('ada')
        assert user['password_hash'].startswith('$argon2id$')
        assert [(e['actor'], e['action'], e['result']) for e in storage.audit_log()][:2] == [
            ('cli', 'user_change', 'ok'), ('cli', 'user_add', 'refused: exists')]
    finally:
        storage.close()


def test_no_password_on_the_command_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(['users', 'add', 'ada', '--role', 'admin', '--password', 'secret secret'])
    assert exc.value.code == 2


def test_serve_without_robot_keys_refuses(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv('CAEXPO_CONSOLE_ROBOT_KEYS', raising=False)
    code, _, err = run(['--db', str(tmp_path / 'c.sqlite3'), 'serve', '--port', '0'], '', capsys, monkeypatch)
    assert code == 2 and 'no robot keys' in err


def test_settings_unknown_key_refused(tmp_path, capsys, monkeypatch):
    config = tmp_path / 'console.yaml'
    config.write_text('hots: 0.0.0.0\n')
    code, _, err = run(['--config', str(config), 'users', 'list'], '', capsys, monkeypatch)
    assert code == 2 and 'hots: unknown key' in err


@pytest.mark.parametrize('value, problem', [('0', 'greater than 0'), ('-30', 'greater than 0'),
                                            ('.inf', 'finite number'), ('soon', 'valid number')])
def test_escalate_after_s_must_be_a_positive_number(tmp_path, capsys, monkeypatch, value, problem):
    """The alert escalation delay is a setting (a supervisor's "escalation settings" are the file): 0 or less
    would escalate every alert the moment it came, so it is refused at start with the key named."""
    config = tmp_path / 'console.yaml'
    config.write_text(f'escalate_after_s: {value}\n')
    code, _, err = run(['--config', str(config), '--db', str(tmp_path / 'c.sqlite3'), 'users', 'list'], '', capsys,
                       monkeypatch)
    assert code == 2 and 'escalate_after_s:' in err and problem in err, err


def test_escalate_after_s_from_the_file_reaches_the_console(tmp_path):
    from caexpo_console.server import ConsoleSettings, build, load_settings
    config = tmp_path / 'console.yaml'
    config.write_text(f'escalate_after_s: 45\ndb: {tmp_path / "c.sqlite3"}\n')
    settings = load_settings(config, {})
    assert isinstance(settings, ConsoleSettings) and settings.escalate_after_s == 45.0
    storage, hub, _auth, _app = build(settings, sender=None)
    try:
        assert hub.escalate_after_s == 45.0
    finally:
        storage.close()
