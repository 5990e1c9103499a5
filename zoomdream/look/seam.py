"""The seam of a loop, measured: what ``zoomdream look`` says about a render with ``loop:``.

Played repeated, a loop's frame 0 follows its last frame, moved by the camera's move into frame
0 (the loop's schedules are periodic, so the move into frame ``length`` is the move into frame
0). The wrap's boil is frame 0 against the last frame carried by that move, compared with the
loop's median boil; across the crossfade, each frame's boil, contrast (std of luma) and edge
energy (mean Sobel magnitude of luma: detail) are compared with the loop's medians, since a
plain dissolve of two dreams shows as a dip in contrast and detail (to about 71 %). The verdict
is ``seam`` when any of them shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from ..config.loop import Timing, timing
from ..motion.field import MotionField
from . import figures

SEAM = 1.25  # the wrap may boil at most this times the loop's median boil
FADE_BOIL = 1.5  # no crossfade frame boils more than this times the median
FADE_KEEPS = 0.9  # every crossfade frame keeps this share of the median contrast and edge energy
CENTROID = 0.25  # every loop frame's spectral centroid within this of the median: no warm-up in the loop
STRIP = 3  # frames either side of the seam on seam.jpg


def edges(frame: torch.Tensor) -> torch.Tensor:
    """Mean Sobel gradient magnitude of luma (B,) of frames (B, 3, H, W) in [0, 1]: the detail."""
    y = figures.luma(frame.float())[:, None]
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=y.device) / 8
    padded = F.pad(y, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, kx.view(1, 1, 3, 3))
    gy = F.conv2d(padded, kx.t().contiguous().view(1, 1, 3, 3))
    return torch.sqrt(gx * gx + gy * gy).mean((1, 2, 3))


@dataclass(frozen=True)
class SeamFigures:
    """A loop's seam and crossfade against its medians (ratios; 1 is an ordinary frame)."""

    seam: float  # the wrap's boil / median boil
    fade_boil: float  # the crossfade's highest boil / median boil
    fade_contrast: float  # the crossfade's lowest contrast / median contrast
    fade_edges: float  # the crossfade's lowest edge energy / median edge energy
    centroid: tuple[float, float]  # every loop frame's centroid / median centroid: lowest, highest
    median_boil: float
    wrap_boil: float
    timing: Timing

    def verdict(self) -> figures.Verdict:
        note = (f"wrap {self.seam:.2f}x median boil (<= {SEAM}), crossfade boil <= {self.fade_boil:.2f}x (<= {FADE_BOIL}), "
                f"contrast >= {self.fade_contrast:.0%}, edges >= {self.fade_edges:.0%} (>= {FADE_KEEPS:.0%})")  # fmt: skip
        shows = self.seam > SEAM or self.fade_boil > FADE_BOIL or min(self.fade_contrast, self.fade_edges) < FADE_KEEPS
        worst = max(self.seam / SEAM, self.fade_boil / FADE_BOIL, FADE_KEEPS / max(min(self.fade_contrast, self.fade_edges), 1e-9))
        return figures.Verdict("seam", "seam" if shows else "ok", worst, note)

    def lines(self) -> list[str]:
        t = self.timing
        low, high = self.centroid
        return [
            f"  loop       {t.length} frames after {t.warmup} warm-up frames, crossfade {t.crossfade}; "
            f"extra frames rendered: {(t.warmup + t.crossfade) / t.length:.0%} of the loop",
            f"  seam       {self.verdict().word}: {self.verdict().note}",
            f"  centroid   every loop frame {low:.0%}-{high:.0%} of the median (within ±{CENTROID:.0%}: no warm-up in the loop)",
        ]


class SeamMeter:
    """Fed every frame of a loop in order (as ``zoomdream look`` reads them); measures its seam."""

    def __init__(self, config: Any, motion: MotionField):
        self.timing, self.motion = timing(config), motion
        self.edges: list[float] = []
        self.first: torch.Tensor | None = None
        self.last: torch.Tensor | None = None
        self.strip: dict[int, np.ndarray] = {}

    @classmethod
    def of(cls, config: Any, motion: MotionField) -> "SeamMeter | None":
        return cls(config, motion) if getattr(config, "loop", None) is not None else None

    def add(self, t: int, frame: torch.Tensor, image: np.ndarray) -> None:
        """Frame t as (1, 3, H, W) and as the (H, W, 3) picture it came from."""
        n = self.timing.length
        self.edges.append(float(edges(frame)[0]))
        if t == 0:
            self.first = frame
        if t == n - 1:
            self.last = frame
        if t < STRIP or t >= n - STRIP:
            self.strip[t] = image

    def figures(self, curves: Mapping[str, Sequence[float | None]]) -> SeamFigures:
        """The seam's figures, given the loop's look curves (boil, contrast, centroid per frame)."""
        n, fade = self.timing.length, self.timing.crossfade
        if self.first is None or self.last is None or len(self.edges) < n:
            raise ValueError(f"the loop has {len(self.edges)} frames, not {n}")
        carried, valid = figures.carry(self.last, self.motion.move(n))
        wrap = float(figures.measure(self.first, carried, valid)["boil"][0])
        boil = [b for b in curves["boil"][1:n] if b is not None]
        middle = median(boil)
        tail = range(n - fade, n)

        def lowest(values: Sequence[float | None]) -> float:
            mid = median([v for v in values[:n] if v is not None])
            return min(float(values[i]) for i in tail) / mid  # type: ignore[arg-type]

        centroids = [c for c in curves["centroid"][:n] if c is not None]
        mid = median(centroids)
        return SeamFigures(
            seam=wrap / middle,
            fade_boil=max(float(curves["boil"][i] or 0.0) for i in tail) / middle,
            fade_contrast=lowest(curves["contrast"]),
            fade_edges=lowest(self.edges),  # type: ignore[arg-type]
            centroid=(min(centroids) / mid, max(centroids) / mid),
            median_boil=middle,
            wrap_boil=wrap,
            timing=self.timing,
        )

    def draw(self, path: Any, thumb: int = 240) -> None:
        """seam.jpg: the last frames and the first ones in the order they play, the seam marked."""
        n = self.timing.length
        order = [t for t in range(n - STRIP, n) if t in self.strip] + [t for t in range(STRIP) if t in self.strip]
        first = self.strip[order[0]]
        scale = min(1.0, thumb / first.shape[1])
        w, h = max(1, round(first.shape[1] * scale)), max(1, round(first.shape[0] * scale))
        gap, seam = 4, 10
        sheet = Image.new("RGB", (len(order) * (w + gap) + gap + seam, h + 2 * gap + 18), (24, 24, 24))
        draw, font = ImageDraw.Draw(sheet), ImageFont.load_default(size=12)
        x = gap
        for i, t in enumerate(order):
            if i and t == 0:
                draw.rectangle((x, gap, x + seam - 4, gap + h), fill=(200, 40, 20))
                x += seam
            picture = Image.fromarray(np.rint(np.clip(self.strip[t], 0, 1) * 255).astype(np.uint8))
            sheet.paste(picture.resize((w, h), Image.Resampling.LANCZOS), (x, gap))
            draw.text((x + 2, gap + h + 3), f"{t}", fill="white", font=font)
            x += w + gap
        sheet.save(path, quality=90)
