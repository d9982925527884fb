"""Where a robot's assistant token comes from: a file (chmod 600) or the environment, never a parameter value
(parameters are visible to anyone on the ROS graph) and never the repository."""
from __future__ import annotations

import os
from pathlib import Path

TOKEN_ENV = 'CAEXPO_ASSISTANT_TOKEN'   # this robot's assistant token, when no token file is set


def assistant_token(token_file: str) -> str | None:
    """The first line of `token_file` if one is set, else the environment variable CAEXPO_ASSISTANT_TOKEN,
    else None. A token file that cannot be read or is empty stops the node with a clear message."""
    if token_file:
        try:
            token = Path(token_file).expanduser().read_text(encoding='utf-8').strip().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise SystemExit(f'interaction: assistant_token_file {token_file}: cannot read: {exc}') from None
        if not token or not token[0].strip():
            raise SystemExit(f'interaction: assistant_token_file {token_file}: empty')
        return token[0].strip()
    return os.environ.get(TOKEN_ENV, '').strip() or None
