"""camera node: publishes real frames from an image folder; a missing camera is reported, retried, never fatal."""
from functools import partial

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image

from caexpo_robot.camera.sources import CameraError, ReconnectingSource, make_source
from caexpo_robot.nodes.camera_node import CameraNode
from ros_harness import ros_graph


def test_image_folder_frames_are_published_with_camera_info(shared_data):
    factory = partial(CameraNode, parameter_overrides=[
        Parameter('source', value=str(shared_data / 'faces')), Parameter('fps', value=20.0)])
    with ros_graph(factory) as g:
        images = g.listen('camera/image_raw', Image, 10)
        infos = g.listen('camera/camera_info', CameraInfo, 10)
        assert g.spin_until(lambda: len(images) >= 3 and infos, timeout=10)
        image = images[-1]
        assert (image.width, image.height, image.encoding, image.step) == (640, 480, 'rgb8', 640 * 3)
        assert len(image.data) == 640 * 480 * 3
        assert infos[-1].k[0] > 0 and infos[-1].width == 640


def test_a_shutdown_during_a_frame_is_not_an_error_and_close_after_it_is_safe(shared_data):
    """A signal shuts the context down while the timer callback reads a frame: the publish that
    follows used to raise ("publisher's context is invalid" / InvalidHandle) and exit 1."""
    factory = partial(CameraNode, parameter_overrides=[
        Parameter('source', value=str(shared_data / 'faces')), Parameter('fps', value=20.0)])
    with ros_graph(factory) as g:
        node = g.nodes[0]
        assert g.spin_until(lambda: node.counters['frames_published'] >= 2, timeout=10)
        published = node.counters['frames_published']
        read = node.source.read

        def read_then_shut_down():
            frame = read()
            rclpy.shutdown(context=g.context)     # the signal arrives while the frame is being read
            return frame
        node.source.read = read_then_shut_down
        node.publish_frame()
        assert not g.context.ok() and node.counters['frames_published'] == published
        node.publish_frame()                      # a late tick after the shutdown does nothing
        assert node.counters['frames_published'] == published
        node.close()                              # the timer is gone with the context: still no error
        assert not node.source.connected


def test_missing_camera_is_retried_and_reported_not_fatal(tmp_path):
    factory = partial(CameraNode, parameter_overrides=[
        Parameter('source', value='/dev/video57'), Parameter('fps', value=20.0), Parameter('retry_s', value=0.2)])
    with ros_graph(factory) as g:
        diagnostics = g.listen('/diagnostics', DiagnosticArray, 10)
        node = g.nodes[0]
        assert g.spin_until(lambda: node.source.failures >= 3, timeout=10)
        assert g.spin_until(lambda: any(s.level >= DiagnosticStatus.WARN and 'no frames' in s.message
                                        for d in diagnostics for s in d.status), timeout=5)
        assert node.counters['frames_missed'] > 0


def test_video_file_loops_and_a_vanished_file_reconnects(tmp_path, shared_data):
    import shutil
    clip = tmp_path / 'clip.mp4'
    shutil.copy(shared_data / 'faces' / 'short_hamilton_clip.mp4', clip)
    now = [0.0]
    source = ReconnectingSource(make_source(str(clip), width=320, height=180), retry_s=1.0, clock=lambda: now[0])
    frame = source.read()
    assert frame.shape == (180, 320, 3)
    source.close()
    clip.unlink()
    assert source.read() is None and 'not found' in source.last_error
    now[0] = 0.5
    assert source.read() is None and source.failures == 1      # not retried before retry_s
    shutil.copy(shared_data / 'faces' / 'short_hamilton_clip.mp4', clip)
    now[0] = 1.1
    assert source.read() is not None and source.connected


def test_unknown_source_is_a_clear_error(tmp_path):
    import pytest
    with pytest.raises(CameraError, match='not a device, a folder or a video file'):
        make_source(str(tmp_path / 'nothing-here'))


@pytest.mark.parametrize('name, value, rule', [
    ('hfov_deg', 0.0, r'must be > 0 and < 180'), ('hfov_deg', 180.0, r'< 180'), ('fps', 0.0, r'> 0'),
    ('fps', -15.0, r'> 0'), ('fps', 1000.0, r'<= 120'), ('width', -1, r'>= 0'), ('height', 100000, r'<= 7680'),
    ('retry_s', 0.0, r'> 0')])
def test_a_bad_parameter_refuses_to_start_naming_it(shared_data, name, value, rule):
    """hfov_deg:=0 used to crash with a ZeroDivisionError traceback and fps:=0 ran silently at 10 fps."""
    factory = partial(CameraNode, parameter_overrides=[
        Parameter('source', value=str(shared_data / 'faces')), Parameter(name, value=value)])
    with pytest.raises(SystemExit, match=rf'camera: parameter {name} = .* {rule}'):
        with ros_graph(factory):
            pass


def test_a_huge_source_image_is_scaled_down_when_the_source_size_is_kept(tmp_path):
    import cv2
    import numpy as np

    from caexpo_robot.camera.sources import MAX_PIXELS
    cv2.imwrite(str(tmp_path / 'big.png'), np.zeros((5000, 6000, 3), np.uint8))
    source = make_source(str(tmp_path), width=0, height=0)
    source.open()
    frame = source.read()
    assert frame.shape[0] * frame.shape[1] <= MAX_PIXELS
    assert abs(frame.shape[1] / frame.shape[0] - 6000 / 5000) < 0.01
