"""A small H.264 copy of a lane's video for browsers, where its codec is not one they play
(ProRes, DNxHR, HAP): a sweep's index page and the studio show the proxy, never the master."""

from __future__ import annotations

from pathlib import Path

from ..io import ffmpeg
from ..io.errors import SinkError
from .folder import Lane

BROWSER_CODECS = ("libx264",)  # what every browser plays in a <video> element
PROXY_HEIGHT = 360


def playable(lane: Lane) -> Path | None:
    """The file a browser should play for this lane: the video itself, or a proxy made once
    beside it (``proxy.mp4``); None when the lane has no video."""
    video = lane.video
    if video is None or not video.exists():
        return None
    if lane.config.output.video.codec in BROWSER_CODECS:  # type: ignore[union-attr]
        return video
    proxy = lane.folder / "proxy.mp4"
    if not proxy.exists() or proxy.stat().st_mtime < video.stat().st_mtime:
        tmp = proxy.with_name(".proxy.part.mp4")
        done = ffmpeg.run(["-y", "-loglevel", "error", "-i", str(video), "-an", "-vf",
                           f"scale=-2:'min({PROXY_HEIGHT},ih)'", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                           "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(tmp)])  # fmt: skip
        if done.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise SinkError(f"cannot write {proxy}: ffmpeg: {ffmpeg.cause(done.stderr) or 'proxy failed'}")
        tmp.replace(proxy)
    return proxy
