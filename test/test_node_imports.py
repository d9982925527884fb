"""What the node processes load: big modules a node never uses stay out of it (issue 12's memory goal).

Each check runs in a fresh interpreter (this test process has imported everything already). Measured:
pypinyin's phrase tables are ~55 MiB resident (needed by the tts node only), matplotlib.pyplot ~33 MiB
(imported by mediapipe for plotting, never by the robot).
"""
import json
import subprocess
import sys

import pytest


def loaded_after(code: str) -> dict:
    """Run `code` in a fresh interpreter; which of the big optional modules it left loaded."""
    probe = code + '\nimport json, sys\nprint(json.dumps({m: m in sys.modules for m in ("pypinyin", "matplotlib")}))'
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_interaction_node_reads_the_voice_table_without_loading_pypinyin():
    loaded = loaded_after('import caexpo_robot.nodes.interaction_node\n'
                          'from caexpo_robot.capabilities import language_rows\n'
                          'assert len(language_rows()) == 11')
    assert loaded['pypinyin'] is False


def test_the_tts_node_loads_pypinyin_at_start_and_mandarin_is_still_spoken_as_pinyin():
    assert loaded_after('import caexpo_robot.nodes.tts_node')['pypinyin'] is True
    from caexpo_robot.speaking.voices import _transform
    assert _transform('银行', 'pinyin') == 'yin2 hang2'


def test_a_face_detector_does_not_load_matplotlib_and_mediapipe_still_can():
    pytest.importorskip('mediapipe')
    code = ('import numpy as np\nfrom caexpo_robot.perception.face_detection import FaceDetector\n'
            'detector = FaceDetector()\nassert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []')
    assert loaded_after(code)['matplotlib'] is False
    # mediapipe's plotting helper gets the real pyplot when it uses it
    code += ('\nfrom mediapipe.python.solutions import drawing_utils\n'
             'assert callable(drawing_utils.plt.figure)\nimport matplotlib.pyplot')
    assert loaded_after(code)['matplotlib'] is True
