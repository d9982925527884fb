"""Privacy of telepresence, checked on what actually leaves the robot:
- the thumbnail that crosses the fleet link (a real ConsoleLink receives it from the robot's real face
  detector and telepresence nodes, fed a photo on camera/image_raw) has every face our detector finds in
  that photo blurred;
- no image or audio file is written by the robot's nodes or the console while an operator watches.
Retention of transcripts (deleted after retention_h, aggregates kept) is tested in test_console_api.py
(test_transcripts_masked_and_deleted_after_retention) and test_console_postgres.py.
"""
from __future__ import annotations

import base64
import os
import queue
import socket
import uuid
from functools import partial

import cv2
import numpy as np
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from caexpo_robot.fleet.link import ConsoleLink, zenoh_config
from caexpo_robot.nodes.conversions import image_msg
from caexpo_robot.nodes.face_detector_node import FaceDetectorNode
from caexpo_robot.nodes.telepresence_node import TelepresenceNode
from caexpo_robot.perception.face_detection import FaceDetector
from caexpo_robot.perception.image import load_image_file
from caexpo_robot.telepresence.thumbnails import _pixel_box
from ros_harness import ros_graph

ROBOT = 'greeter-a'
KEY = os.urandom(32)
# Per-channel pixel variance inside a face box of a 320 px thumbnail: 1,227-2,453 unblurred on these photos,
# 55-250 blurred (measured in test_telepresence_thumbnails.py).
VARIANCE_LIMIT = 400.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def frame_msg(rgb: np.ndarray, t: float) -> Image:
    stamp = Image().header.stamp
    stamp.sec, stamp.nanosec = int(t), int((t % 1) * 1e9)
    return image_msg(rgb, stamp, 'camera')


def box_variance(rgb: np.ndarray, face) -> float:
    x0, y0, x1, y1 = _pixel_box(face, rgb.shape[1], rgb.shape[0], 0.0)
    return float(rgb[y0:y1, x0:x1].astype(np.float64).var(axis=(0, 1)).mean())


@pytest.mark.parametrize('name', ['obama_and_biden.jpg', 'two_people.jpg'])
def test_the_thumbnail_crossing_the_link_has_every_face_blurred(monkeypatch, shared_data, name):
    photo = load_image_file(shared_data / 'faces' / name)
    with FaceDetector() as detector:
        faces = detector.detect(photo)
    assert len(faces) == 2, f'our detector finds both faces in {name}'
    monkeypatch.setenv('CAEXPO_FLEET_KEY_PRIVACY', KEY.hex())
    port = free_port()
    robot = partial(TelepresenceNode, parameter_overrides=[
        Parameter('robot_id', value=ROBOT), Parameter('key_env', value='CAEXPO_FLEET_KEY_PRIVACY'),
        Parameter('zenoh_connect', value=f'tcp/127.0.0.1:{port}'), Parameter('thumbnail_s', value=0.2)])
    events: queue.SimpleQueue = queue.SimpleQueue()
    with ConsoleLink({ROBOT: KEY}, zenoh_config([f'tcp/127.0.0.1:{port}'], [])) as console, \
            ros_graph(FaceDetectorNode, robot) as g:
        console.on_event(events.put)
        camera = g.publisher('camera/image_raw', Image, 10)
        seen = []

        def got(kind):
            while not events.empty():
                seen.append(events.get())
            return [e for e in seen if e.kind == kind]
        assert g.spin_until(lambda: got('heartbeat'), 15.0), 'the robot never reached the console'
        watch = {'command_id': uuid.uuid4().hex, 'operator': 'lan', 'watching': True}
        assert g.spin_until(lambda: (console.send(ROBOT, 'watch', watch), got('ack'))[1], 10.0)
        t = 100.0
        # The camera at ~10 fps, until a thumbnail arrives (the node subscribes the camera only now).
        while not got('thumbnail') and t < 130.0:
            camera.publish(frame_msg(photo, t))
            g.spin_for(0.1)
            t += 0.1
        thumbnails = got('thumbnail')
        assert thumbnails, 'no thumbnail crossed the link'
        body = thumbnails[0].body
        jpeg = base64.b64decode(body.jpeg_b64)
        thumb = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert thumb.shape == (body.height, body.width, 3) and body.width == min(320, photo.shape[1])
        assert body.faces_blurred == len(faces)
        plain = cv2.resize(photo, (body.width, body.height), interpolation=cv2.INTER_AREA)
        for face in faces:
            before, after = box_variance(plain, face), box_variance(thumb, face)
            assert before > VARIANCE_LIMIT, f'{name}: the face is not sharp to begin with ({before:.0f})'
            assert after < VARIANCE_LIMIT, f'{name}: face at {face.x:.2f},{face.y:.2f} sent sharp ({after:.0f})'
