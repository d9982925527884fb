"""Per-frame cost of raw mediapipe face detection vs FaceDetector.detect, vs the whole frame pipeline
(FramePipeline.process: detect, track, engage, build the FacesFrame), and the buffer conversion.

Frames: the shared Hamilton clip resized to 640x480 when ../shared/data is there, else synthetic
noise frames (no faces, so mediapipe's post-processing is cheaper: figures are then a floor).
Prints figures only; bounded to about 2 x (--seconds) per model (default 3 s) plus set-up.

    .venv/bin/python bench/bench_face_detection.py [--seconds 3] [--frames 120]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import fields, replace
from pathlib import Path

import cv2
import numpy as np
import yaml

from caexpo_robot.perception.face_detection import MODELS, FaceDetector
from caexpo_robot.perception.frame_pipeline import FramePipeline, FrameSettings
from caexpo_robot.perception.image import image_from_buffer, image_to_buffer

REPO = Path(__file__).resolve().parent.parent
CLIP = REPO.parent / 'shared' / 'data' / 'faces' / 'short_hamilton_clip.mp4'


def node_settings() -> FrameSettings:
    """The face_detector node's settings from config/greeter.yaml, detecting on every frame."""
    params = yaml.safe_load((REPO / 'config' / 'greeter.yaml').read_text())['face_detector']['ros__parameters']
    settings = FrameSettings(**{f.name: params[f.name] for f in fields(FrameSettings)})
    return replace(settings, idle_detect_hz=0.0)


def load_frames(count: int) -> tuple[list[np.ndarray], str]:
    frames = []
    if CLIP.is_file():
        capture = cv2.VideoCapture(str(CLIP))
        while len(frames) < count:
            ok, bgr = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(cv2.resize(bgr, (640, 480)), cv2.COLOR_BGR2RGB))
        capture.release()
    if frames:
        return frames, f'{len(frames)} frames of {CLIP.name} resized to 640x480'
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(count)]
    return frames, f'{count} synthetic 640x480 noise frames (no faces)'


def time_per_frame(functions: list, frames: list, seconds: float) -> list[list[float]]:
    """Milliseconds per call of each function, called in turn on the same frame (so drift in CPU
    speed hits all alike), cycling over the frames until `seconds` have passed (>= 1 pass)."""
    samples = [[] for _ in functions]
    deadline = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < deadline or count < len(frames):
        frame = frames[count % len(frames)]
        for function, times in zip(functions, samples, strict=True):
            start = time.perf_counter()
            function(frame)
            times.append((time.perf_counter() - start) * 1e3)
        count += 1
    return samples


def describe(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (f'{name:<38} mean {statistics.fmean(samples):6.2f} ms  median {statistics.median(samples):6.2f}'
            f'  p95 {p95:6.2f}  n={len(samples)}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=3.0, help='timing budget per measurement')
    parser.add_argument('--frames', type=int, default=120, help='distinct frames to cycle over')
    args = parser.parse_args()
    frames, source = load_frames(args.frames)
    print(f'frames: {source}; cpu threads visible: {os.cpu_count()}')

    from mediapipe.python.solutions import face_detection as mp_face_detection
    for model, selection in MODELS.items():
        raw = mp_face_detection.FaceDetection(model_selection=selection, min_detection_confidence=0.5)
        wrapped = FaceDetector(model=model, min_score=0.5)
        for frame in frames[:10]:  # warm-up: graph start, first-inference allocations
            raw.process(frame)
            wrapped.detect(frame)
        pipeline = FramePipeline(FaceDetector(model=model, min_score=0.5), node_settings())
        stamps = iter(range(10**9))

        def process(frame, pipeline=pipeline, stamps=stamps):
            pipeline.process(frame, next(stamps) / 15.0, 'camera')    # 15 fps stamps, as the camera sends
        raw_ms, wrapped_ms, pipeline_ms = time_per_frame([raw.process, wrapped.detect, process], frames,
                                                         2 * args.seconds)
        print(describe(f'{model}: raw mediapipe process()', raw_ms))
        print(describe(f'{model}: FaceDetector.detect()', wrapped_ms))
        print(describe(f'{model}: FramePipeline.process()', pipeline_ms))
        overhead = statistics.median(wrapped_ms) - statistics.median(raw_ms)
        print(f'{model}: wrapper overhead (median difference) {overhead:+.2f} ms per frame')
        print(f'{model}: frame pipeline / raw (means) {statistics.fmean(pipeline_ms) / statistics.fmean(raw_ms):.2f}x '
              f'(goal for the node callback: <= 1.3x)')
        raw.close()
        wrapped.close()
        pipeline.close()

    buffers = {enc: image_to_buffer(frames[0], enc) for enc in ('rgb8', 'bgr8')}
    for encoding, (height, width, step, data) in buffers.items():
        def convert(_frame, encoding=encoding, height=height, width=width, step=step, data=data):
            return image_from_buffer(encoding, height, width, step, data)
        samples, = time_per_frame([convert],
                                  frames, min(args.seconds, 1.0))
        print(describe(f'image_from_buffer {encoding} 640x480', samples))


if __name__ == '__main__':
    main()
