"""The console with its real fleet link: a ConsoleLink and a RobotLink on loopback Zenoh, events pumped into
the hub, an operator's say reaching the robot as a verified, signed command, the robot's ack audited."""
import queue

import pytest
from caexpo_console.server import EventPump

from caexpo_console import start_in_thread
from caexpo_robot.fleet.link import ConsoleLink, RobotLink, zenoh_config
from console_harness import KEYS, PASSWORD, login
from loopback_http import free_port
from polling import wait_for


@pytest.fixture
def linked():
    endpoint = f'tcp/127.0.0.1:{free_port()}'
    link = ConsoleLink(KEYS, zenoh_config([endpoint], []))
    console = start_in_thread(link, robots={'greeter-a': {'entrance': 'north'}, 'greeter-b': {}})
    pump = EventPump(console.hub, 1000)
    link.on_event(pump.put)
    robot = RobotLink('greeter-a', KEYS['greeter-a'], zenoh_config([], [endpoint]))
    commands: queue.Queue = queue.Queue()
    robot.on_command(commands.put)
    console.auth.add_user('olga', 'operator', PASSWORD)
    yield console, robot, commands
    robot.close()
    link.close()
    pump.stop()
    console.stop()


def test_say_reaches_the_robot_signed_and_the_ack_is_audited(linked):
    console, robot, commands = linked
    client, answer = login(console.url, 'olga')

    def online():
        robot.publish('heartbeat', {'state': {'greeting_paused': False, 'visitor_language': 'lo'}})
        return {r['robot_id']: r['online'] for r in client.get('/api/robots').json()['robots']}['greeter-a']
    wait_for(online, 'greeter-a online in the console')
    assert client.get('/api/robots/greeter-b').json()['online'] is False

    def delivered():   # the robot's subscription may need a moment after the link came up
        client.post('/api/robots/greeter-a/commands', json={'kind': 'say', 'text': 'ສະບາຍດີ', 'language': 'lo'},
                    headers={'X-CSRF-Token': answer['csrf']})
        return not commands.empty()
    wait_for(delivered, 'the say command at the robot')
    envelope = commands.get()
    assert (envelope.kind, envelope.sender, envelope.robot_id) == ('say', 'console', 'greeter-a')
    assert (envelope.body.text, envelope.body.language, envelope.body.operator) == ('ສະບາຍດີ', 'lo', 'olga')
    robot.publish('ack', {'command_id': envelope.body.command_id, 'ok': True, 'error': None})
    wait_for(lambda: any(e['detail'].get('command_id') == envelope.body.command_id
                         for e in console.storage.audit_log(action='ack:say')), 'the ack in the audit log')
