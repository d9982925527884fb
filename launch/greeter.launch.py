"""The greeter robot: camera → face_detector, microphone → asr, interaction, tts, screen (the touchscreen
page); parameters from config/greeter.yaml.

    ros2 launch caexpo_robot greeter.launch.py namespace:=entrance_a camera_device:=/dev/video0 \
        opener_languages:='[vi, zh, en]'
"""
from typing import List

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from caexpo_robot.graph import ROBOT_NODES, params_file

RESPAWN_DELAY_S = 2.0


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument('namespace', default_value='',
                              description='robot namespace, e.g. entrance_a (topics become /entrance_a/...)'),
        DeclareLaunchArgument('camera_device', default_value='/dev/video0',
                              description='V4L2 device, video file or image folder for the camera node'),
        DeclareLaunchArgument('opener_languages', default_value='[zh, en]',
                              description='YAML list of greeting languages before the visitor\'s is known'),
        DeclareLaunchArgument('params_file', default_value=str(params_file()),
                              description='ROS 2 parameter file for all nodes'),
    ]
    overrides = {
        'camera': {'source': LaunchConfiguration('camera_device')},
        'interaction': {'opener_languages': ParameterValue(LaunchConfiguration('opener_languages'),
                                                           value_type=List[str])},
    }
    # A node that exits (a driver crash, a native library aborting) comes back after RESPAWN_DELAY_S
    # instead of leaving the entrance without eyes or voice; launch respawns nothing once it is itself
    # shutting down (Ctrl-C on `ros2 launch`), so a stop stays a stop.
    nodes = [Node(package='caexpo_robot', executable=name, name=name, namespace=LaunchConfiguration('namespace'),
                  parameters=[LaunchConfiguration('params_file'), overrides.get(name, {})],
                  output='screen', emulate_tty=True, respawn=True, respawn_delay=RESPAWN_DELAY_S)
             for name in ROBOT_NODES]
    return LaunchDescription(arguments + nodes)
