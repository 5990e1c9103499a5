"""What keeps the studio a local tool: a web page in another tab, a rebound DNS name or a
request with ``..`` in it can neither start a render nor read a file outside the renders folder.

* Every request's ``Host`` must name this server (DNS rebinding gives an attacker's name).
* Off the loopback, every request needs the token (header, ``?token=`` once, then a cookie).
* A request that changes anything needs the token header or a same-origin ``Origin`` (or
  ``Sec-Fetch-Site: same-origin``): browsers send these and a cross-site page cannot forge them.
* Files are served only from inside the renders folder: relative, no ``..``, no hidden names,
  no symlink that leads out.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from pathlib import Path
from urllib.parse import urlsplit

TOKEN_HEADER = "X-Zoomdream-Token"
TOKEN_COOKIE = "zoomdream_token"
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    """A request the studio will not serve; ``status`` is its HTTP code."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def is_local(host: str) -> bool:
    """Whether binding ``host`` keeps the studio on this machine (loopback only)."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def host_name(header: str) -> str:
    """``Host: 127.0.0.1:8188`` -> ``127.0.0.1``; ``[::1]:8188`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """The studio's checks of one request, given how it was started (``host``, ``token``)."""

    def __init__(self, host: str, token: str, extra_hosts: tuple[str, ...] = ()):
        self.local = is_local(host)
        self.token = token
        wildcard = host.strip("[]") in ("0.0.0.0", "::", "")
        # off the loopback the token is the defence, so any name that reaches us is served
        self.hosts: frozenset[str] | None = None if (wildcard and not self.local) else (
            LOCAL_NAMES | {host.strip("[]").lower()} | {h.lower() for h in extra_hosts})

    def token_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())  # type: ignore[union-attr]

    def check(self, method: str, headers: dict[str, str], cookies: dict[str, str], query_token: str | None) -> None:
        """Raise ``Refused`` unless the request may be served."""
        host = host_name(headers.get("host", ""))
        if self.hosts is not None and host not in self.hosts:
            raise Refused(421, f"Host {host or '(none)'!r} is not this studio; open it as http://127.0.0.1 or localhost")
        header_token = headers.get(TOKEN_HEADER.lower())
        if not self.local and not any(self.token_ok(t) for t in (header_token, cookies.get(TOKEN_COOKIE), query_token)):
            raise Refused(401, f"this studio is served beyond this machine: give its token (the {TOKEN_HEADER} header or ?token=)")
        if method.upper() in SAFE_METHODS or self.token_ok(header_token):
            return
        if not self.same_origin(headers):
            raise Refused(403, f"cross-site request refused: send the {TOKEN_HEADER} header, or use the studio's own page")

    @staticmethod
    def same_origin(headers: dict[str, str]) -> bool:
        origin = headers.get("origin")
        if origin:
            parts = urlsplit(origin)
            return parts.scheme in ("http", "https") and parts.netloc.lower() == headers.get("host", "").lower()
        return headers.get("sec-fetch-site") == "same-origin"


def safe_relative(text: str, what: str = "path") -> Path:
    """``text`` as a relative path of plain names, or ``Refused``: no absolute path, no ``..``,
    no hidden names (the lock file, partial files), no backslashes or NULs."""
    if not text or text.startswith(("/", "~")) or "\\" in text or "\x00" in text or ":" in text.split("/", 1)[0]:
        raise Refused(403, f"{what} {text!r} refused: give a path inside the renders folder")
    parts = text.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        raise Refused(403, f"{what} {text!r} refused: no '..', '.' or hidden names")
    return Path(*parts)


def contained(root: Path, text: str, what: str = "path") -> Path:
    """The real path of ``root / text``, or ``Refused`` when it (through a symlink) leaves ``root``."""
    real_root = root.resolve()
    path = (real_root / safe_relative(text, what)).resolve()
    if not path.is_relative_to(real_root):
        raise Refused(403, f"{what} {text!r} refused: it leads outside the renders folder")
    return path


def inside(path: Path, roots: list[Path]) -> bool:
    """Whether the real ``path`` (symlinks followed) lies inside one of ``roots``."""
    real = path.resolve()
    return any(real.is_relative_to(root.resolve()) for root in roots)
