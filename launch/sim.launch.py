"""The simulated entrance: the robot's nodes in one process on a scenario, simulated clock.

    ros2 launch caexpo_robot sim.launch.py scenario:=/path/to/scenario.yaml out:=/tmp/sim
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import LaunchConfiguration

from caexpo_robot.sim.scenario import default_scenario_path


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('scenario', default_value=str(default_scenario_path()),
                              description='scenario YAML (visitors, timing, languages)'),
        DeclareLaunchArgument('out', default_value='sim_output',
                              description='folder for events.jsonl, summary.json and speech/*.wav'),
        ExecuteProcess(cmd=['caexpo-robot', 'sim', LaunchConfiguration('scenario'),
                            '--out', LaunchConfiguration('out')], output='screen'),
    ])
