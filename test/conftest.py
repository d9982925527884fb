"""Test-wide environment: ROS 2 traffic stays on this machine and each test process has its own domain."""
import os
from pathlib import Path

import pytest

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
# A distinct domain per test process so parallel runs on one machine never see each other.
os.environ['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 100)
REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault('ROS_LOG_DIR', str(REPO / 'build' / 'ros_log'))
SHARED_DATA = REPO.parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def shared_data() -> Path:
    """../shared/data (real photos and speech); tests that need it skip with the reason if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real test data not found at {SHARED_DATA}')
    return SHARED_DATA


ROBOT = 'robot-test'   # the robot whose token the `http` fixture carries


@pytest.fixture(scope='module')
def assistant(request):
    """The reference assistant on a random loopback port; its "today" is the test module's DAY. Tokens on
    demand: `assistant.robot_token(robot_id)`, `assistant.headers(robot_id)`, `assistant.headers()` (staff).
    No rate limits and no staff-request allowance here: a test module asks hundreds of questions in
    seconds as one robot (test_assistant_security tests the limits on servers of its own)."""
    from caexpo_assistant import start_in_thread
    running = start_in_thread(today=request.module.DAY, rate_limits=None, staff_requests_per_robot=None)
    yield running
    running.stop()


@pytest.fixture(scope='module')
def http(assistant):
    """An httpx client on the assistant with robot ROBOT's token."""
    with assistant.client(ROBOT) as client:
        yield client


@pytest.fixture(scope='module')
def pb():
    """The shipped phrasebook."""
    from caexpo_robot.language.phrasebook import Phrasebook
    return Phrasebook.load()


@pytest.fixture(scope='module')
def table(pb):
    """The shipped voice table."""
    from caexpo_robot.speaking.voices import VoiceTable
    return VoiceTable.load(phrasebook=pb)


@pytest.fixture(scope='module')
def browser():
    """Headless Debian chromium (apt `chromium`, version 156) driven by Playwright for Python 1.64.1, which
    expects exactly that version; its browser download command is never run (no downloads here)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium', headless=True)
        yield browser
        browser.close()
