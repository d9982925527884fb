"""`detect`: faces in image files, one JSON line per image. Nothing but boxes and scores is written."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from caexpo_robot.perception.face_detection import DEFAULT_MIN_SCORE, DEFAULT_MODEL, MODELS, FaceDetector
from caexpo_robot.perception.image import ImageError, load_image_file


def detect_main(paths: list[str], model: str = DEFAULT_MODEL, min_score: float = DEFAULT_MIN_SCORE,
                out: TextIO = sys.stdout) -> int:
    """Writes {"image", "faces": [{"x", "y", "w", "h" (pixels), "score"}]} or {"image", "error"}
    per path; returns 0 when every image was read, 1 otherwise."""
    failed = 0
    with FaceDetector(model=model, min_score=min_score) as detector:
        for path in paths:
            try:
                rgb = load_image_file(path)
                faces = detector.detect(rgb)
            except ImageError as error:
                failed += 1
                line = {'image': path, 'error': str(error)}
            else:
                height, width = rgb.shape[:2]
                line = {'image': path, 'faces': [
                    dict(zip(('x', 'y', 'w', 'h'), face.to_pixels(width, height), strict=True),
                         score=round(face.score, 3)) for face in faces]}
            out.write(json.dumps(line, ensure_ascii=False) + '\n')
            out.flush()
    return 1 if failed else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('paths', nargs='+', help='image files (JPEG, PNG, ...)')
    parser.add_argument('--model', choices=sorted(MODELS), default=DEFAULT_MODEL,
                        help=f'short: faces within ~2 m; full: within ~5 m (default {DEFAULT_MODEL})')
    parser.add_argument('--min-score', type=float, default=DEFAULT_MIN_SCORE,
                        help=f'minimum detection score in [0, 1] (default {DEFAULT_MIN_SCORE})')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='detect', description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if not 0.0 <= args.min_score <= 1.0:
        parser.error(f'--min-score must be in [0, 1], got {args.min_score}')
    return detect_main(args.paths, model=args.model, min_score=args.min_score)


if __name__ == '__main__':
    sys.exit(main())
