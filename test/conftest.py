"""Test-wide environment: ROS 2 traffic stays on this machine and each test process has its own domain."""
import os
import sys
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
