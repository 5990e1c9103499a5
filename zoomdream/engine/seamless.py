"""A seamless loop (``loop:``): the tail of the loop converges to the frames before its head while
the dream keeps running, so the frame after the last one is the first one.

The render starts ``warmup`` frames before the loop's frame 0 (those are rendered, not
written) and every schedule is read at the loop's time, so the warm-up's last frames
-crossfade .. -1 move exactly like the loop's last frames. Those frames (the head's past) are
rendered again beside the tail: the renderer's state is kept when the warm-up reaches frame
-crossfade and, across the crossfade, the same frames are dreamed again from it (same noise,
same jitter, so bit for bit the same on the CPU). Each dreamed frame of the tail is then drawn
toward the head's past frame of the same place in the loop, level by level of a Laplacian
pyramid: each level keeps ``1 - share`` of the gap it had at the crossfade's first frame, the
share rising evenly from 0 to 1. The dream runs on between pulls and regrows the tail's own
detail (fine levels fastest), so the gap is measured on every frame and each level's weight is
what brings it back on schedule; at the loop's last frame every level is the past's, which is
frame -1, the frame frame 0 was dreamed from: the seam is an ordinary step of the dream.

Measured with benchmarks/loop.py (README, "Loops for VJ sets"): the even share spreads the
change over the whole crossfade, so no frame of it boils far above the others; a smoothstep or
coarse levels first, and weights that trust the share already drawn to stay, piled the change
up and boiled at 1.6-2.4x the median. Each band's energy is restored as it is mixed (a mix of
two unrelated pictures loses contrast and edges: a plain dissolve dips to about 71 %), and the
dream grows its motifs into what it is drawn toward, so there is no double exposure. The
dream's velocity (``dream.calm``) is drawn along with the same weights, so the tail also ends
with the past's momentum. Cost: the warm-up and the crossfade are rendered beyond the loop.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F

from ..config import Config
from ..config.loop import timing
from ..errors import ZoomdreamError

SMALLEST = 8  # the coarsest level is the first one with a side below twice this many pixels
STATE = ("x", "velocity", "known", "generator", "lane_generators", "colors")  # what the past swaps in the renderer


_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def _down(x: torch.Tensor) -> torch.Tensor:
    """Blur (5-tap binomial, reflected edges) and keep every other pixel."""
    c = x.shape[1]
    kernel = _BINOMIAL.to(x)
    x = F.pad(x, (2, 2, 2, 2), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    x = F.conv2d(x, kernel.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)
    return x[..., ::2, ::2]


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


def level_count(height: int, width: int) -> int:
    """Pyramid levels for frames of this size: halving until a side drops below 2 * SMALLEST."""
    levels, side = 1, min(height, width)
    while side >= 2 * SMALLEST and side >= 4:
        side, levels = (side + 1) // 2, levels + 1
    return levels


def bands(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The Laplacian pyramid of ``x``: ``levels - 1`` detail bands, finest first, then the coarse rest."""
    gaussians = [x]
    for _ in range(levels - 1):
        gaussians.append(_down(gaussians[-1]))
    return [g - _up(coarser, g) for g, coarser in zip(gaussians, gaussians[1:])] + [gaussians[-1]]


def collapse(levels: list[torch.Tensor]) -> torch.Tensor:
    """The picture a Laplacian pyramid holds (exactly, for ``bands``' own)."""
    out = levels[-1]
    for detail in reversed(levels[:-1]):
        out = _up(out, detail) + detail
    return out


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.square().mean((1, 2, 3), keepdim=True).sqrt()


def pull(x: torch.Tensor, target: torch.Tensor, weights: list[Any], restore: list[float] | None = None) -> torch.Tensor:
    """``x`` moved toward ``target`` by ``weights[k]`` of pyramid level k (0 finest); weights of 1
    everywhere give ``target``. A weight is a number or one per picture, shaped (B, 1, 1, 1)."""
    return blend(bands(x, len(weights)), bands(target, len(weights)), weights, restore)


def blend(mine: list[torch.Tensor], theirs: list[torch.Tensor], weights: list[Any], restore: list[float] | None = None) -> torch.Tensor:
    """Two pyramids mixed level by level, collapsed to a picture.

    ``restore[k]`` (0 .. 1) gives detail band k back the energy a mix of two unrelated pictures
    loses (a 50/50 mix keeps half the power): the mixed band is scaled toward the target's RMS
    by that power of the ratio, so a level half way through keeps its contrast and edges.
    """
    mixed = [a + w * (b - a) for a, b, w in zip(mine, theirs, weights)]
    for k, amount in enumerate((restore or [])[: len(weights) - 1]):  # the coarse rest holds the mean: not rescaled
        if amount > 0:
            mixed[k] = mixed[k] * (_rms(theirs[k]) / _rms(mixed[k]).clamp_min(1e-8)) ** amount
    return collapse(mixed)


def gaps(mine: list[torch.Tensor], theirs: list[torch.Tensor]) -> list[torch.Tensor]:
    """How far apart two pyramids are, level by level: the RMS of the difference, (B, 1, 1, 1) each."""
    return [_rms(b - a) for a, b in zip(mine, theirs)]


class Past:
    """The renderer's state at frame -crossfade, carried on frame by frame beside the tail."""

    def __init__(self, state: dict[str, Any], next_frame: int):
        self.state, self.next_frame = state, next_frame

    @classmethod
    def of(cls, renderer: Any) -> "Past":
        """A copy of the renderer's state now (its next frame is the past's first)."""
        state = {name: copy.deepcopy(getattr(renderer, name)) for name in STATE if name not in ("generator", "lane_generators")}
        state["generator"] = _clone(renderer.generator)
        state["lane_generators"] = [_clone(g) for g in renderer.lane_generators]
        return cls(state, renderer.next_frame)

    def advance(self, renderer: Any, k: int) -> torch.Tensor:
        """Dream the past's next ``k`` frames with the renderer's own code; returns the last one."""
        self._swap(renderer)
        try:
            frames = renderer.interval(renderer.x, self.next_frame, k)
            renderer.x = frames[-1]
        finally:
            self._swap(renderer)
        self.next_frame += k
        return self.state["x"]

    def _swap(self, renderer: Any) -> None:
        for name in STATE:
            mine = self.state[name]
            self.state[name] = getattr(renderer, name)
            setattr(renderer, name, mine)

    def state_dict(self) -> dict[str, Any]:
        s = self.state
        return {
            "next_frame": self.next_frame,
            "frame": s["x"].detach().float().cpu().clone(),
            "velocity": None if s["velocity"] is None else s["velocity"].detach().float().cpu().clone(),
            "generators": [g.get_state() for g in [s["generator"], *s["lane_generators"]]],
            "color": s["colors"].state_dict(),
        }

    @classmethod
    def from_state(cls, saved: dict[str, Any], renderer: Any) -> "Past":
        generators = [torch.Generator() for _ in range(1 + len(renderer.lane_generators))]
        for generator, state in zip(generators, saved["generators"]):
            generator.set_state(state)
        colors = copy.deepcopy(renderer.colors)
        colors.load_state_dict(saved["color"])
        velocity = None if saved["velocity"] is None else saved["velocity"].to(renderer.device)
        state = {"x": saved["frame"].to(renderer.device), "velocity": velocity, "known": None,
                 "generator": generators[0], "lane_generators": generators[1:], "colors": colors}  # fmt: skip
        return cls(state, saved["next_frame"])


def _clone(generator: torch.Generator) -> torch.Generator:
    twin = torch.Generator()
    twin.set_state(generator.get_state())
    return twin


class Seamless:
    """The loop's part of the frame algorithm: where the render starts, the head's past, the pull."""

    def __init__(self, config: Config):
        self.timing = timing(config)
        self.first = -self.timing.warmup
        self.past: Past | None = None
        self.start: list[torch.Tensor] | None = None  # each level's gap to the past at the crossfade's first frame
        self.levels = level_count(*config.frame_size[::-1])

    @property
    def fade_start(self) -> int:
        return self.timing.length - self.timing.crossfade

    def before(self, renderer: Any, t: int, k: int) -> None:
        """Called before the renderer makes frames t .. t+k-1: keeps its state at -crossfade, and
        across the crossfade dreams the same interval of the head's past first."""
        if t == -self.timing.crossfade:
            self.past = Past.of(renderer)
        if t >= self.fade_start:
            assert self.past is not None and self.past.next_frame == t - self.timing.length, "the head's past is out of step"
            self.past.advance(renderer, k)

    def progress(self, t: int) -> float:
        return (t - self.fade_start + 1) / self.timing.crossfade

    def pull(self, x: torch.Tensor, velocity: torch.Tensor | None, t: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A dreamed frame of the tail (and the dream's velocity there) drawn toward the head's past.

        Each level keeps ``1 - share`` of the gap it had at the crossfade's first frame. The dream
        runs on between pulls and regrows some of the tail's own detail, so the gap is measured
        every frame and the weight is what brings it back on schedule: the change stays spread
        over the crossfade instead of piling up at its end.
        """
        if t < self.fade_start or t >= self.timing.length:
            return x, velocity
        assert self.past is not None
        mine, theirs = bands(x, self.levels), bands(self.past.state["x"].to(x), self.levels)
        now = gaps(mine, theirs)
        if self.start is None:  # the crossfade's first frame: the gaps the shares are shares of
            self.start = now
        share = min(max(self.progress(t), 0.0), 1.0)
        weights = [(1 - (1 - share) * g0.to(g) / g.clamp_min(1e-8)).clamp(0, 1) for g0, g in zip(self.start, now)]
        restore = [math.sin(math.pi * share)] * self.levels  # most half way, where a mix loses most
        x = blend(mine, theirs, weights, restore).clamp(0, 1)
        past_velocity = self.past.state["velocity"]
        if velocity is not None and past_velocity is not None:
            velocity = pull(velocity, past_velocity.to(velocity), weights)
        return x, velocity

    def state_dict(self) -> dict[str, Any]:
        return {"timing": list(self.timing), "past": None if self.past is None else self.past.state_dict(),
                "start": None if self.start is None else [g.detach().cpu().clone() for g in self.start]}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any], renderer: Any) -> None:
        if list(state["timing"]) != list(self.timing):
            raise ZoomdreamError(
                f"cannot resume: the loop changed (was {tuple(state['timing'])} frames of length, warm-up, crossfade and "
                f"dream interval, now {tuple(self.timing)}); render with --overwrite to start again",
                "--overwrite",
            )
        self.past = None if state["past"] is None else Past.from_state(state["past"], renderer)
        self.start = None if state["start"] is None else [g.to(renderer.device) for g in state["start"]]
