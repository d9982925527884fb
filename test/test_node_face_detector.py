"""face_detector node with real rclpy topics and real photos; malformed images are counted drops."""
from functools import partial

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from caexpo_robot.messages import FacesFrame, decode
from caexpo_robot.nodes.common import CAMERA_OUT
from caexpo_robot.nodes.conversions import image_msg
from caexpo_robot.nodes.face_detector_node import FaceDetectorNode
from caexpo_robot.perception.image import load_image_file
from ros_harness import ros_graph


def frame_msg(rgb, t):
    stamp = Image().header.stamp
    stamp.sec, stamp.nanosec = int(t), int((t % 1) * 1e9)
    return image_msg(rgb, stamp, 'camera')


def frame_of(msg) -> FacesFrame:
    return decode(FacesFrame, msg.data)


def test_two_people_become_two_confirmed_tracks_and_bad_frames_are_dropped(shared_data):
    photo = load_image_file(shared_data / 'faces' / 'two_people.jpg')
    factory = partial(FaceDetectorNode, parameter_overrides=[Parameter('confirm_hits', value=3)])
    with ros_graph(factory) as g:
        faces = g.listen(FacesFrame.TOPIC)
        diagnostics = g.listen('/diagnostics', DiagnosticArray, 10)
        pub = g.publisher('camera/image_raw', Image, 10)
        g.wait_for_subscribers(pub)
        node = g.nodes[0]
        g.wait_until_heard(node.advertise(FacesFrame))

        bad = [Image(height=4, width=4, encoding='16UC1', step=8, data=bytes(32)),      # wrong encoding
               Image(height=0, width=0, encoding='rgb8', step=0, data=b''),              # zero size
               Image(height=10, width=10, encoding='rgb8', step=20, data=bytes(200))]    # step < width*3
        # One at a time: the image subscription keeps only the newest frames (a slow detector never lags).
        for k, msg in enumerate(bad):
            pub.publish(msg)
            assert g.spin_until(lambda k=k: node.counters['dropped_image'] == k + 1), msg.encoding

        for k in range(5):
            pub.publish(frame_msg(photo, 1.0 + k / 15))
            assert g.spin_until(lambda k=k: len(faces) == k + 1), f'no output for frame {k}'
        last = frame_of(faces[-1])
        confirmed = [f for f in last.faces if f.confirmed]
        assert len(confirmed) == 2
        assert len({f.id for f in confirmed}) == 2
        assert all(0 < f.distance_m < 10 for f in confirmed)
        assert abs(last.stamp - (1.0 + 4 / 15)) < 1e-6
        # An empty frame still produces an (empty) message: subscribers see visitors leave.
        pub.publish(frame_msg(np.full((480, 640, 3), 128, np.uint8), 2.0))
        assert g.spin_until(lambda: len(faces) == 6)
        assert all(not f.confirmed or f.id in {c.id for c in confirmed}
                   for f in frame_of(faces[-1]).faces)
        # The camera was away for a minute: the same people get new ids (no identity across the break).
        for k in range(3):
            pub.publish(frame_msg(photo, 60.0 + k / 15))
            assert g.spin_until(lambda k=k: len(faces) == 7 + k)
        assert node.counters['tracker_resets'] == 1
        after = [f for f in frame_of(faces[-1]).faces if f.confirmed]
        assert len(after) == 2 and not {f.id for f in after} & {f.id for f in confirmed}
        def reported_drops():
            return [{kv.key: kv.value for kv in s.values}.get('dropped_image')
                    for d in diagnostics for s in d.status if s.name.endswith('face_detector')]
        # Diagnostics come at 1 Hz: the first one after the drops reports all three.
        assert g.spin_until(lambda: '3' in reported_drops(), timeout=5.0), reported_drops()


def test_an_empty_entrance_is_checked_at_the_idle_rate_and_a_visitor_at_every_frame(shared_data):
    photo = load_image_file(shared_data / 'faces' / 'obama.jpg')
    empty = np.full((480, 640, 3), 90, np.uint8)
    with ros_graph(FaceDetectorNode) as g:     # idle_detect_hz: 5
        faces = g.listen(FacesFrame.TOPIC)
        pub = g.publisher('camera/image_raw', Image, 10)
        g.wait_for_subscribers(pub)
        node = g.nodes[0]
        g.wait_until_heard(node.advertise(FacesFrame))
        for k in range(30):                     # one second at 30 fps, nobody there
            pub.publish(frame_msg(empty, 10.0 + k / 30))
            assert g.spin_until(lambda k=k: len(faces) == k + 1)
        assert node.counters['frames_processed'] == 5 and node.counters['frames_skipped_idle'] == 25
        for k in range(30, 36):                 # a visitor appears: every frame is detected again
            pub.publish(frame_msg(photo, 10.0 + k / 30))
            assert g.spin_until(lambda k=k: len(faces) == k + 1)
        assert node.counters['frames_skipped_idle'] <= 27
        assert any(f.confirmed for f in frame_of(faces[-1]).faces)


def test_camera_intrinsics_are_taken_once_and_again_when_the_resolution_changes(shared_data):
    from sensor_msgs.msg import CameraInfo

    from caexpo_robot.nodes.conversions import camera_info_msg
    photo = load_image_file(shared_data / 'faces' / 'obama.jpg')
    with ros_graph(FaceDetectorNode) as g:
        faces = g.listen(FacesFrame.TOPIC)
        images = g.publisher('camera/image_raw', Image, 10)
        infos = g.publisher('camera/camera_info', CameraInfo, 10)
        g.wait_for_subscribers(infos)
        node = g.nodes[0]
        g.wait_until_heard(node.advertise(FacesFrame))
        info = camera_info_msg(photo.shape[1], photo.shape[0], 30.0, Image().header.stamp, 'camera')
        infos.publish(info)
        assert g.spin_until(lambda: node.info_sub is None)   # a narrow lens: fx from CameraInfo, then unsubscribed
        assert abs(node.pipeline.camera_fx - info.k[0]) < 1e-6
        for k in range(4):
            images.publish(frame_msg(photo, 1.0 + k / 15))
            assert g.spin_until(lambda k=k: len(faces) == k + 1)
        narrow = [f.distance_m for f in frame_of(faces[-1]).faces if f.confirmed][0]
        half = np.ascontiguousarray(photo[::2, ::2])
        images.publish(frame_msg(half, 2.0))                 # another resolution: listen again
        assert g.spin_until(lambda: len(faces) == 5)
        assert node.pipeline.camera_fx is None and node.info_sub is not None
        # The 30° lens makes the same face ~2.15x farther than the 60° default does (tan 30° / tan 15°).
        wide = [f.distance_m for f in frame_of(faces[-1]).faces][0]
        assert 1.8 < narrow / wide < 2.5


@pytest.mark.parametrize('publisher_qos', ['best_effort_driver', 'our_camera'])
def test_frames_arrive_from_a_best_effort_driver_and_from_our_reliable_camera(shared_data, publisher_qos):
    """A standard camera driver publishes best effort (rclpy's sensor-data profile); a reliable
    subscription would never match it. Our own camera publishes reliable (CAMERA_OUT)."""
    qos = {'best_effort_driver': qos_profile_sensor_data, 'our_camera': CAMERA_OUT}[publisher_qos]
    photo = load_image_file(shared_data / 'faces' / 'obama.jpg')
    with ros_graph(FaceDetectorNode) as g:
        faces = g.listen(FacesFrame.TOPIC)
        pub = g.publisher('camera/image_raw', Image, qos)
        assert pub.qos_profile.reliability == qos.reliability
        g.wait_for_subscribers(pub)
        node = g.nodes[0]
        g.wait_until_heard(node.advertise(FacesFrame))
        # Best effort may lose a frame in transit: publish until the detector has confirmed the face.
        for k in range(60):
            pub.publish(frame_msg(photo, 5.0 + k / 15))
            if g.spin_until(lambda: faces and any(f.confirmed for f in frame_of(faces[-1]).faces), timeout=0.5):
                break
        assert node.counters['frames_processed'] >= 3, publisher_qos
        last = frame_of(faces[-1])
        assert (last.width, last.height, last.frame_id) == (photo.shape[1], photo.shape[0], 'camera')
        assert [f.confirmed for f in last.faces] == [True]


def test_bad_camera_infos_are_counted_drops_and_a_changed_one_is_taken(shared_data):
    """k[0] = +inf crashed the node; fx = 1e9 was believed (a face 1,184 km away) and kept forever."""
    from sensor_msgs.msg import CameraInfo

    from caexpo_robot.nodes.conversions import camera_info_msg
    photo = load_image_file(shared_data / 'faces' / 'obama.jpg')
    width, height = photo.shape[1], photo.shape[0]
    with ros_graph(FaceDetectorNode) as g:
        faces = g.listen(FacesFrame.TOPIC)
        images = g.publisher('camera/image_raw', Image, 10)
        infos = g.publisher('camera/camera_info', CameraInfo, 10)
        g.wait_for_subscribers(infos)
        node = g.nodes[0]
        g.wait_until_heard(node.advertise(FacesFrame))
        good = camera_info_msg(width, height, 60.0, Image().header.stamp, 'camera')
        bad = []
        for fx in (float('inf'), float('nan'), 0.0, -500.0, 1e9, 1e-3):
            info = camera_info_msg(width, height, 60.0, Image().header.stamp, 'camera')
            info.k[0] = fx
            bad.append(info)
        huge = camera_info_msg(width, height, 60.0, Image().header.stamp, 'camera')
        huge.width, huge.height = 100000, 100000
        bad.append(huge)
        for k, info in enumerate(bad):
            infos.publish(info)
            assert g.spin_until(lambda k=k: node.counters['dropped_camera_info'] == k + 1), info.k[0]
        assert node.pipeline.camera_fx is None and node.info_sub is not None
        infos.publish(good)
        assert g.spin_until(lambda: node.info_sub is None)
        assert node.pipeline.camera_fx == pytest.approx(good.k[0])
        for k in range(4):
            images.publish(frame_msg(photo, 1.0 + k / 15))
            assert g.spin_until(lambda k=k: len(faces) == k + 1)
        assert all(0 < f.distance_m < 10 for f in frame_of(faces[-1]).faces)
        # The camera is recalibrated (a narrower lens): taken at the next re-check (every INFO_RECHECK_S).
        node._listen_for_camera_info()
        g.wait_for_subscribers(infos)
        narrow = camera_info_msg(width, height, 30.0, Image().header.stamp, 'camera')
        infos.publish(narrow)
        assert g.spin_until(lambda: node.info_sub is None)
        assert node.pipeline.camera_fx == pytest.approx(narrow.k[0]) and node.counters['camera_info_taken'] == 2


def test_a_huge_frame_header_is_dropped_before_any_conversion():
    """8000x8000 frames took 1.8 GB: the size in the header is checked before the data is touched."""
    with ros_graph(FaceDetectorNode) as g:
        pub = g.publisher('camera/image_raw', Image, 10)
        g.wait_for_subscribers(pub)
        node = g.nodes[0]
        for k, (w, h) in enumerate([(8000, 8000), (100000, 100000), (2**31, 2)]):
            pub.publish(Image(width=w, height=h, encoding='rgb8', step=w * 3 % 2**32, data=bytes(12)))
            assert g.spin_until(lambda k=k: node.counters['dropped_image'] == k + 1)
        assert 'max_image_pixels' in node.health.last_problem


@pytest.mark.parametrize('name, value, rule', [
    ('min_score', 1.5, '<= 1'), ('confirm_hits', 0, '>= 1'), ('engage_distance_m', 0.0, '> 0'),
    ('hfov_deg', 0.0, '> 0 and < 180'), ('max_image_pixels', 0, '> 0'), ('idle_detect_hz', -1.0, '>= 0'),
    ('model', 'huge', "'full' or 'short'"), ('min_facing', float('nan'), 'finite')])
def test_a_bad_parameter_refuses_to_start_naming_it(name, value, rule):
    factory = partial(FaceDetectorNode, parameter_overrides=[Parameter(name, value=value)])
    with pytest.raises(SystemExit, match=f'face_detector: parameter {name} = .*{rule}'):
        with ros_graph(factory):
            pass


def test_disengaging_nearer_than_engaging_is_refused():
    factory = partial(FaceDetectorNode, parameter_overrides=[
        Parameter('engage_distance_m', value=3.0), Parameter('disengage_distance_m', value=2.0)])
    with pytest.raises(SystemExit, match='disengage_distance_m must be >= engage_distance_m'):
        with ros_graph(factory):
            pass
