"""Every node refuses a bad parameter at start with the node, parameter, value and rule named (no
traceback, nothing created): the tts and interaction parameters here; camera, face_detector and
microphone in their own tests."""
from functools import partial

import pytest
from rclpy.parameter import Parameter

from caexpo_robot.nodes.interaction_node import InteractionNode
from caexpo_robot.nodes.tts_node import TtsNode
from ros_harness import ros_graph


@pytest.mark.parametrize('params,error', [
    ({'audio_output': 'speaker'}, r"tts: parameter audio_output = 'speaker' must be one of 'device', 'file'"),
    ({'engine': 'festival'}, r"tts: parameter engine = 'festival' must be one of"),
    ({'max_chars': 0}, r'tts: parameter max_chars = 0 must be >= 20'),
    ({'queue_capacity': 0}, r'tts: parameter queue_capacity = 0 must be >= 1'),
])
def test_tts_refuses_bad_parameters(tmp_path, params, error):
    overrides = [Parameter('audio_output', value='file'), Parameter('wav_dir', value=str(tmp_path))]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    with pytest.raises(SystemExit, match=error):
        with ros_graph(partial(TtsNode, parameter_overrides=overrides)):
            pass


@pytest.mark.parametrize('params,error', [
    ({'assistant_deadline_s': 0.0}, r'interaction: parameter assistant_deadline_s = 0.0 must be > 0'),
    ({'min_confidence': 1.5}, r'interaction: parameter min_confidence = 1.5 must be >= 0 and <= 1'),
    ({'max_turns': 0}, r'interaction: parameter max_turns = 0 must be >= 1'),
    ({'leave_after_s': float('nan')}, r'interaction: parameter leave_after_s = nan must be a finite number'),
    ({'thinking_timeout_s': 2.0}, r'thinking_timeout_s must be >= assistant_deadline_s'),
    ({'assistant_filler_after_s': 3.0}, r'assistant_filler_after_s must be < assistant_deadline_s'),
])
def test_interaction_refuses_bad_parameters(params, error):
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    with pytest.raises(SystemExit, match=error):
        with ros_graph(partial(InteractionNode, parameter_overrides=overrides)):
            pass
