"""Durability and data loading: a server process killed with SIGKILL loses nothing it acknowledged;
the seed loader and the CLI reject malformed data with a message that names the file and item."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from caexpo_assistant import start_in_thread
from caexpo_assistant.auth import new_token
from caexpo_assistant.catalog import SeedError, load_seed_folder
from caexpo_assistant.paths import data_path
from loopback_http import free_port

DAY = '2025-09-19'
ROBOT, STAFF = new_token(), new_token()   # the served process's tokens, given in its environment
R1 = {'Authorization': f'Bearer {ROBOT}'}
DESK = {'Authorization': f'Bearer {STAFF}'}


def start_server(db: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, '-m', 'caexpo_assistant.cli', 'serve', '--port', str(port), '--db', f'sqlite:///{db}',
         '--today', DAY], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, 'CAEXPO_ASSISTANT_ROBOT_TOKENS': f'r1:{ROBOT}',
             'CAEXPO_ASSISTANT_STAFF_TOKENS': f'desk:{STAFF}'})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f'http://127.0.0.1:{port}/v1/health', headers=R1, timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise AssertionError(f'server exited: {process.stderr.read().decode()}')
        time.sleep(0.05)
    process.kill()
    raise AssertionError('server did not answer within 20 s')


def test_bookings_survive_kill_9_and_restart(tmp_path):
    db = tmp_path / 'assistant.sqlite3'
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    server = start_server(db, port)
    try:
        session = httpx.post(f'{url}/v1/sessions', json={'robot_id': 'r1', 'entrance': 'entrance_a',
                                                         'language': 'vi'}, headers=R1).json()['session_id']
        body = {'exhibitor_id': 'angkor-golden-rice', 'day': DAY, 'start': '10:30', 'visitor_name': 'Tran Thi Mai',
                'language': 'vi', 'session_id': session}
        booked = httpx.post(f'{url}/v1/meetings', json=body, headers={**R1, 'Idempotency-Key': 'k-rice-1'}).json()
        staff = httpx.post(f'{url}/v1/staff-requests', json={'robot_id': 'r1', 'entrance': 'entrance_a',
                                                              'language': 'vi'}, headers=R1).json()
        turn = httpx.post(f'{url}/v1/sessions/{session}/turns', headers=R1,
                          json={'text': 'Tôi muốn đặt lịch hẹn với Kampot Pepper lúc 11:00', 'language': 'vi',
                                'visitor': {'name': 'Tran Thi Mai'}}).json()
        assert turn['intent'] == 'meeting_booked'
    finally:
        os.kill(server.pid, signal.SIGKILL)  # no shutdown hook, no checkpoint: only what was committed
        server.wait(timeout=10)
    assert server.returncode == -signal.SIGKILL

    server = start_server(db, port)
    try:
        again = httpx.get(f'{url}/v1/meetings/{booked["id"]}', params={'session_id': session}, headers=R1).json()
        assert again['status'] == 'booked' and again['start'] == '10:30' and again['visitor_name'] == 'Tran Thi Mai'
        replay = httpx.post(f'{url}/v1/meetings', json=body, headers={**R1, 'Idempotency-Key': 'k-rice-1'})
        assert replay.status_code == 201 and replay.json()['id'] == booked['id']  # idempotency survived too
        taken = httpx.post(f'{url}/v1/meetings', json={**body, 'visitor_name': 'Someone Else'}, headers=R1)
        assert taken.status_code == 409
        slots = httpx.get(f'{url}/v1/exhibitors/kampot-pepper-coop/slots', params={'day': DAY}, headers=R1).json()
        assert [s['free'] for s in slots if s['start'] == '11:00'] == [False]
        assert staff['id'] in [r['id'] for r in httpx.get(f'{url}/v1/staff-requests', headers=DESK).json()]
        # the visitor's session, and its meeting context, survived: "cancel" finds the turn's booking
        cancel = httpx.post(f'{url}/v1/sessions/{session}/turns', json={'text': 'Hủy lịch hẹn', 'language': 'vi'},
                            headers=R1)
        assert cancel.json()['intent'] == 'meeting_cancelled'
        assert cancel.json()['actions'][0]['start'] in ('10:30', '11:00')
    finally:
        server.terminate()
        server.wait(timeout=10)


def copy_seed(tmp_path) -> Path:
    folder = tmp_path / 'seed'
    shutil.copytree(data_path('seed'), folder)
    return folder


def edit(path: Path, change):
    data = yaml.safe_load(path.read_text(encoding='utf-8'))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding='utf-8')


@pytest.mark.parametrize('file,change,message', [
    ('exhibitors.yaml', lambda d: d['exhibitors'][0].update(country='XX'), 'unknown country'),
    ('exhibitors.yaml', lambda d: d['exhibitors'][0].update(products=['unobtainium']), 'unknown tags'),
    ('exhibitors.yaml', lambda d: d['exhibitors'][1].update(id=d['exhibitors'][0]['id']), 'malformed or repeated'),
    ('exhibitors.yaml', lambda d: d['exhibitors'][0].update(meeting_hours=[['14:00', '10:00']]), 'ends before'),
    ('events.yaml', lambda d: d['events'][0].update(start='9h30'), 'HH:MM'),
    ('events.yaml', lambda d: d['events'][0].update(day='2025-12-25'), 'not one of the expo days'),
    ('venue.yaml', lambda d: d['facts'].update(food_place='moon'), 'unknown place'),
    ('venue.yaml', lambda d: d['entrances']['entrance_a'].pop('facing_deg'), 'facing_deg'),
    ('vocabulary.yaml', lambda d: d['tags']['durian']['terms'].update(xx=['durian']), 'unknown language'),
])
def test_malformed_seed_is_rejected_with_file_and_item(tmp_path, file, change, message):
    folder = copy_seed(tmp_path)
    edit(folder / file, change)
    with pytest.raises(SeedError, match=message) as error:
        load_seed_folder(folder)
    assert file.split('.')[0] in str(error.value)


def test_load_seed_command_replaces_the_catalog_of_a_running_server(tmp_path):
    db = tmp_path / 'fleet.sqlite3'
    folder = copy_seed(tmp_path)
    with start_in_thread(db_url=f'sqlite:///{db}', today=DAY, catalog_refresh_s=0) as running:
        assert running.url.startswith('http://127.0.0.1:')
        http = running.client('r1')
        assert http.get('/v1/exhibitors', params={'q': 'durian'}).json()
        edit(folder / 'exhibitors.yaml', lambda d: d.update(exhibitors=[e for e in d['exhibitors']
                                                                        if 'durian' not in e['products']]))
        cli = [sys.executable, '-m', 'caexpo_assistant.cli', 'load-seed', '--db', f'sqlite:///{db}']
        done = subprocess.run(cli + [str(folder)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and 'catalog version 2' in done.stdout, done.stderr
        health = http.get('/v1/health').json()
        assert health['catalog_version'] == 2
        assert http.get('/v1/exhibitors', params={'q': 'durian'}).json() == []
        edit(folder / 'events.yaml', lambda d: d['events'][0].update(place='nowhere'))
        bad = subprocess.run(cli + [str(folder)], capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and 'unknown place' in bad.stderr
        assert http.get('/v1/health').json()['catalog_version'] == 2  # a bad load changes nothing
        http.close()
