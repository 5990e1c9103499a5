"""``zoomdream studio``: a local web app to write a recipe, preview it, watch it render, stop and
resume it, and compare it with earlier renders; and the same as a JSON HTTP API under /api/.

Its web parts (FastAPI, uvicorn) are the ``studio`` extra, so the renderer installs without them.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

from ...errors import ZoomdreamError

EXTRA_HINT = "the studio needs its extra: pip install 'zoomdream[studio]'"


class StudioError(ZoomdreamError):
    """The studio cannot start as asked; one line with the fix."""


def build(renders: str | Path = "renders", host: str = "127.0.0.1", token: str | None = None,
          allow: list[str | Path] | None = None) -> tuple[Any, str]:  # fmt: skip
    """The ASGI app for ``renders`` bound as ``host``, and its token (made up when not given)."""
    try:
        from .app import create_app
    except ImportError as error:
        raise StudioError(f"{EXTRA_HINT} ({error.name} is missing)") from None
    from .security import Guard, is_local, new_token
    from .service import Studio

    token = token or new_token()
    studio = Studio(Path(renders), [Path(p) for p in allow or []])
    return create_app(studio, Guard(host, token)), token


def address(host: str, port: int, token: str, local: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + ("" if local else f"?token={token}")


def serve(renders: str | Path = "renders", host: str = "127.0.0.1", port: int = 8188, token: str | None = None,
          allow: list[str | Path] | None = None) -> int:  # fmt: skip
    """Run the studio until Ctrl-C; renders in flight stop after their frame, checkpointed."""
    from .security import is_local

    app, token = build(renders, host, token, allow)
    try:
        import uvicorn
    except ImportError:
        raise StudioError(EXTRA_HINT) from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise StudioError(f"cannot listen on {host}:{port} ({error.strerror}); pick another --port or --host") from None
    local = is_local(host)
    print(f"zoomdream studio: {address(host, sock.getsockname()[1], token, local)}  (renders in {app.state.studio.renders})")
    if local:
        print(f"zoomdream studio: API token for scripts (X-Zoomdream-Token header): {token}")
    else:
        print(f"zoomdream studio: served beyond this machine; every request needs the token {token}", file=sys.stderr)
    sys.stdout.flush()
    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.studio.closing = True  # live views end, so the shutdown need not wait for them
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3)).run(sockets=[sock])
    return 0
