"""A clip as the render's source: its frames fitted to the frame size and streamed through the
bundled ffmpeg, and each output frame's fresh picture: the clip's frame with the last dream carried
onto it along the clip's optical flow.

Frame t (after the first) is made from the clip's frame t seen through the camera (``view``),
``s_t``, and the previous output x_{t-1} with its own clip picture ``s_{t-1}``: the dream is what
the output added to its picture, x_{t-1} - s_{t-1}, and it is carried along the move into frame t
(the clip's flow with the camera on top) onto s_t, as ``carry`` of it where the flow is trusted
and none where it is not (occlusions, things entering) or across a cut (``fresh``). That frame is
dreamed as usual, and the change the dream makes is kept as the share the carried dream leaves
(``settle``): the dream is a running average along the clip's motion, as strong as one frame's
dream and steadier the more is carried. The clip's own picture is never resampled from frame to
frame, so it stays as sharp as the clip and follows its light; only the dream travels. Where the
camera looks past the clip's edge, the carried picture stays, as in a zoom, with the fill the
camera's revealed ground gets.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Config
from ..config.video import Window, window
from ..io import ffmpeg
from ..motion import flow as flows
from ..motion.field import FlowMove, Move
from ..motion.path import CameraPath
from ..motion.sampler import known, warp
from .image import SourceError

SKIP = 48  # a frame this far ahead is read through; further, or behind, ffmpeg is reopened at it
KEEP = 4  # decoded frames kept (the flow asks for two at a time, the look again)


def fit_filters(probe: ffmpeg.VideoProbe, size: tuple[int, int], fit: str) -> tuple[str, tuple[int, int]]:
    """ffmpeg filters that bring the clip's frames to ``size`` by ``fit`` (as ``start.fit`` fits an
    image: cover crops centred, contain shows it all, stretch ignores the aspect), non-square pixels
    and rotation applied, and the size ffmpeg delivers (contain is mirror-padded afterwards)."""
    (width, height), sar = probe.size, probe.sar
    target_w, target_h = size
    shown, wanted = width * sar / height, target_w / target_h  # display aspects
    scale = "flags=bicubic+accurate_rnd+full_chroma_int"
    if fit == "cover":
        crop_w = width if shown <= wanted else max(1, round(height * wanted / sar))
        crop_h = height if shown >= wanted else max(1, round(width * sar / wanted))
        return f"crop={crop_w}:{crop_h},scale={target_w}:{target_h}:{scale}", size
    if fit == "contain":
        inner = (target_w, max(1, round(target_w / shown))) if shown > wanted else (max(1, round(target_h * shown)), target_h)
        inner = (min(inner[0], target_w), min(inner[1], target_h))
        return f"scale={inner[0]}:{inner[1]}:{scale}", inner
    return f"scale={target_w}:{target_h}:{scale}", size


class Clip:
    """The window's frames fitted to ``size``, decoded as asked for: in order they stream from one
    ffmpeg; a frame behind, or far ahead, reopens ffmpeg there with an exact seek."""

    def __init__(self, file: str | Path, part: Window, size: tuple[int, int], fit: str):
        self.path, self.part, self.size = Path(file), part, size
        self.filters, self.decoded = fit_filters(part.probe, size, fit)
        self._reader: Any = None
        self._next = -1  # the clip frame the open reader gives next
        self._kept: dict[int, np.ndarray] = {}

    def frame(self, k: int) -> np.ndarray:
        """Clip frame ``k`` (counted in the file) as uint8 (H, W, 3) at the frame size."""
        if k in self._kept:
            return self._kept[k]
        if self._reader is None or not self._next <= k <= self._next + SKIP:
            self._open(k)
        while self._next <= k:
            try:
                pixels = next(self._reader, None)
            except ffmpeg.ProbeError as error:
                raise SourceError(f"video.file: cannot decode {self.path} at frame {self._next} ({error})") from None
            if pixels is None:
                raise SourceError(f"video.file: {self.path} ended at frame {self._next}; it was probed with more")
            if len(self._kept) >= KEEP:
                del self._kept[min(self._kept)]
            self._kept[self._next], self._next = self._fitted(pixels), self._next + 1
        return self._kept[k]

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _open(self, k: int) -> None:
        self.close()
        end = self.part.first + self.part.count
        self._reader = ffmpeg.stream_video(self.path, self.decoded, self.filters, self.part.seek(k), end - k)
        self._next = k

    def _fitted(self, pixels: np.ndarray) -> np.ndarray:
        width, height = self.size
        pad_w, pad_h = width - pixels.shape[1], height - pixels.shape[0]
        if pad_w or pad_h:  # contain: mirrored, never black bars (which a dream would outline)
            pads = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
            pixels = np.pad(pixels, pads, mode="symmetric")
        return pixels


def as_tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(pixels)).permute(2, 0, 1)[None].float().div_(255)


class Footage:
    """The clip as the renderer's source and motion field (``motion``): ``start()`` is frame 0's picture,
    ``fresh(t, ...)`` frame t's, ``kept(t)`` how much of the dream's change the calm may carry into
    frame t, ``cut(t)`` whether a new shot starts at frame t. Nothing here is state a checkpoint needs:
    every frame is recomputed from the clip, the same way, so a resumed render continues bit for bit."""

    def __init__(self, config: Config, carry: list[np.ndarray], camera: CameraPath, ahead: bool = False):
        assert config.video is not None
        self.config, self.lanes, self.size = config, len(carry), config.frame_size
        self.part = window(config.video)
        self.clip = Clip(config.video.file, self.part, self.size, config.video.fit)
        self.carry = carry
        self.cuts = config.video.cut_frames(config.fps)
        self.motion = flows.FootageMotion(self.flow, camera, self.lanes)
        self._dis = flows.solver()
        # Dreaming on a GPU, one CPU thread measures the next frame's flow while this frame is dreamed
        # (DIS at 1080p takes longer than a GPU's dream). On the CPU the dream has every core, so the
        # flow waits its turn. DIS is deterministic: the frames never depend on which.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoomdream-flow") if ahead else None
        self._pending: dict[int, Future] = {}
        self._flows: dict[int, tuple[FlowMove, bool]] = {}
        self._pictures: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.found: list[int] = []  # the cuts found so far (for a report)
        self.flow_seconds = 0.0  # spent measuring the flow (for the benchmark)

    def frame_of(self, t: int) -> int:
        return self.part.frame_of(t, self.config.fps)

    def flow(self, t: int) -> FlowMove:
        """The clip's move into frame t: DIS flow from the clip frame before, nothing trusted at a cut."""
        if t not in self._flows:
            if len(self._flows) > 8:
                self._flows = {i: f for i, f in self._flows.items() if i >= t - 4}
            measuring = self._pending.pop(t, None) or self._measure(t)
            if measuring is None:  # a cut the recipe sets takes nothing across; a repeated frame stands still
                given = self.cuts is not None and t in self.cuts
                self._flows[t] = (flows.still(self.size, self.lanes, trusted=not given), given)
            else:
                measured = measuring.result()
                cut = self.cuts is None and measured.cut
                if cut and t not in self.found:
                    self.found.append(t)
                move = flows.still(self.size, self.lanes, trusted=False) if cut else flows.as_move(measured, self.lanes)
                self._flows[t] = (move, cut)
            if self._thread and t + 1 < self.config.frame_count and t + 1 not in self._flows and t + 1 not in self._pending:
                ahead = self._measure(t + 1)  # measured on the flow thread while frame t is dreamed
                if ahead is not None:
                    self._pending[t + 1] = ahead
        return self._flows[t][0]

    def _measure(self, t: int) -> Future | None:
        """The flow into frame t, started on the flow thread; None where nothing is measured (a cut
        the recipe sets, or a repeated clip frame)."""
        earlier, later = self.frame_of(t - 1), self.frame_of(t)
        if (self.cuts is not None and t in self.cuts) or earlier == later:
            return None
        pair = self.clip.frame(earlier), self.clip.frame(later)  # decoded here: the clip reads in order
        if self._thread is not None:
            return self._thread.submit(self._estimate, *pair)
        now: Future = Future()
        now.set_result(self._estimate(*pair))
        return now

    def _estimate(self, earlier: np.ndarray, later: np.ndarray) -> flows.Flow:
        began = time.perf_counter()
        measured = flows.estimate(earlier, later, self._dis)
        self.flow_seconds += time.perf_counter() - began
        return measured

    def cut(self, t: int) -> bool:
        if t <= 0:
            return False
        self.flow(t)
        return self._flows[t][1]

    def picture(self, t: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The clip's frame t through the camera (B, 3, H, W), and where it shows the clip (B, 1, H, W)."""
        if t not in self._pictures:
            if len(self._pictures) > 3:
                del self._pictures[min(self._pictures)]
            frame = as_tensor(self.clip.frame(self.frame_of(t))).to(device).expand(self.lanes, -1, -1, -1)
            view = self.motion.view(t)
            if bool(view.still().all()):
                self._pictures[t] = frame, torch.ones_like(frame[:, :1])
            else:
                self._pictures[t] = warp(frame, view), known(view, frame)
        picture, shown = self._pictures[t]
        return picture.to(device), shown.to(device)

    def start(self) -> torch.Tensor:
        return self.picture(0)[0].clone()

    def carried(self, t: int) -> torch.Tensor:
        """(B,) the share of the dream carried into frame t: ``video.carry``, 0 at a cut."""
        values = [0.0 if self.cut(t) else float(table[min(t, len(table) - 1)]) for table in self.carry]
        return torch.tensor(values, dtype=torch.float64)

    def kept(self, t: int) -> torch.Tensor:
        """(B,) how much of the dream's change the calm may carry into frame t: as much as of the dream."""
        return self.carried(t)

    def settle(self, t: int, k: int, path: Move, before: torch.Tensor, dreamed: torch.Tensor) -> torch.Tensor:
        """Frames t .. t+k-1's dream, blended: where the dream was carried onto the frame (``carry`` per
        frame, along ``path``, the move from frame t-1 to t+k-1, where it is trusted), it keeps that share
        and takes the rest of the change the dream made this time (``dreamed`` from ``before``); new ground
        and a new shot take all of it. The dream is thus an average along the clip's motion: as strong
        as one frame's, steadier the more is carried."""
        share = torch.stack([self.carried(t + i) for i in range(k)]).prod(0).to(before).view(-1, 1, 1, 1)
        kept = share * known(path, before)
        return before + (1 - kept) * (dreamed - before)

    def interval(self, t: int, k: int) -> tuple[int, bool]:
        """The frames t .. t+k'-1 to dream as one interval (``motion.dream_every``), ending before a cut so
        that no dream is carried back across it, and whether a shot starts at frame t."""
        cut = next((j for j in range(1, k) if self.cut(t + j)), k)
        return cut, self.cut(t)

    def fresh(self, t: int, before: torch.Tensor, carried: torch.Tensor, move: Move, sharpness: torch.Tensor) -> torch.Tensor:
        """Frame t's picture before it is dreamed: the clip's frame with the dream of ``before`` (frame
        t-1) carried onto it along ``move``; ``carried`` (``before`` carried as a zoom carries it) where
        the camera looks past the clip."""
        last, last_shown = self.picture(t - 1, before.device)
        picture, shown = self.picture(t, before.device)
        dream = warp(before - last, move, sharpness, signed=True)
        trusted = known(move, before) * warp(last_shown, move)
        share = self.carried(t).to(before).view(-1, 1, 1, 1)
        inside = (picture + share * trusted * dream).clamp(0, 1)
        return torch.lerp(carried, inside, shown)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
        self.clip.close()


def footage(config: Config, planners: list[Any], camera: CameraPath, ahead: bool = False) -> Footage | None:
    """The recipe's clip as a source (None without ``video``); ``planners``: each lane's (engine.plan);
    ``ahead``: measure the next frame's flow while this one is dreamed (for a GPU's dream)."""
    if config.video is None:
        return None
    return Footage(config, [planner.tables["video.carry"] for planner in planners], camera, ahead)
