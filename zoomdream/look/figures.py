"""How a render looks, in numbers cheap enough to take every frame: the figures behind ``zoomdream look``.

A long zoom fails slowly: the exposure drifts, colours burn or fade to grey, the dream melts into
ever bigger blobs, or it boils (the picture crawls beyond what the camera moved). Each of these
is one curve over the frames, measured on the device on a batch of lanes (B, 3, H, W) in [0, 1],
and one verdict per curve says whether it went wrong.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from statistics import median
from typing import Callable, Mapping, Sequence

import torch

from ..motion.sampler import Movable, known, warp

REC709 = (0.2126, 0.7152, 0.0722)
CURVES = ("luma", "saturation", "contrast", "clip", "boil", "centroid")
UNITS = {
    "luma": "mean Rec.709 luma",
    "saturation": "mean chroma, max-min of RGB",
    "contrast": "std of luma",
    "clip": "share of values at 0 or 1",
    "boil": "mean |frame - carried|",
    "centroid": "cycles/pixel",
}
CLIP_MARGIN = 1.0 / 255  # a channel within one 8-bit step of black or white is pinned there


def carry(previous: torch.Tensor, move: Movable) -> tuple[torch.Tensor, torch.Tensor]:
    """The previous frame moved by the camera into this one, and where that is real picture.

    ``move`` is the move into this frame (the renderer's motion field). The mask
    (B, 1, H, W) is True where the sample point lies inside the previous frame, False where the
    camera revealed something new at the border (zooming out, panning), which no frame showed.
    """
    return warp(previous, move), known(move, previous) == 1


def luma(frame: torch.Tensor) -> torch.Tensor:
    """Rec.709 luma (B, H, W) of gamma-encoded RGB, as a viewer's eye weights brightness."""
    weights = torch.tensor(REC709, dtype=frame.dtype, device=frame.device).view(1, 3, 1, 1)
    return (frame * weights).sum(1)


def centroid(y: torch.Tensor) -> torch.Tensor:
    """Power-weighted mean radial spatial frequency (B,) of luma (B, H, W), in cycles per pixel.

    The mean is removed and a Hann window applied, so the frame's edges (a jump where the
    picture would wrap around) do not add power at every frequency. 0 for a flat frame;
    about 0.7 at most (the corner of the spectrum).
    """
    height, width = y.shape[-2:]
    window = torch.outer(
        torch.hann_window(height, periodic=False, dtype=y.dtype, device=y.device),
        torch.hann_window(width, periodic=False, dtype=y.dtype, device=y.device),
    )
    y = (y - y.mean((-2, -1), keepdim=True)) * window
    power = torch.fft.rfft2(y).abs().square()
    power[..., 0, 0] = 0  # what the window leaves of the mean is not detail
    fy = torch.fft.fftfreq(height, device=y.device, dtype=y.dtype)
    fx = torch.fft.rfftfreq(width, device=y.device, dtype=y.dtype)
    radius = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    twice = torch.full_like(fx, 2.0)  # rfft2 keeps one of each pair of mirrored columns
    twice[0] = 1
    if width % 2 == 0:
        twice[-1] = 1
    power = power * twice
    return (power * radius).sum((-2, -1)) / power.sum((-2, -1)).clamp_min(1e-12)


def measure(
    frame: torch.Tensor, carried: torch.Tensor | None = None, valid: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Every curve's figure for one frame of each lane: name -> (B,), on the frame's device.

    - ``luma``: mean Rec.709 luma, the exposure.
    - ``saturation``: mean chroma, max(R, G, B) - min(R, G, B) per pixel (HSV's chroma): 0 for
      any grey, 1 for a pure primary; unlike HSV's saturation it does not blow up in the shadows.
    - ``contrast``: standard deviation of luma.
    - ``clip``: share of channel values within one 8-bit step of 0 or 1 (crushed or blown).
    - ``boil`` (only with ``carried``): mean absolute difference from the previous frame carried
      by the camera (see :func:`carry`), over channels and the ``valid`` pixels: the change a
      viewer sees beyond the motion. NaN for a lane with no valid pixel.
    - ``centroid``: see :func:`centroid`.
    """
    frame = frame.float().contiguous()  # a channels-last frame makes the reductions ~30x slower on the CPU
    y = luma(frame)
    figures = {
        "luma": y.mean((-2, -1)),
        "saturation": (frame.amax(1) - frame.amin(1)).mean((-2, -1)),
        "contrast": y.flatten(1).std(1),
        "clip": ((frame <= CLIP_MARGIN) | (frame >= 1 - CLIP_MARGIN)).float().mean((1, 2, 3)),
    }
    if carried is not None:
        mask = torch.ones_like(frame[:, :1]) if valid is None else valid.to(frame)
        difference = (frame - carried.to(frame)).abs().mean(1, keepdim=True) * mask
        figures["boil"] = difference.sum((1, 2, 3)) / mask.sum((1, 2, 3))
    figures["centroid"] = centroid(y)
    return figures


Curves = Mapping[str, Sequence[float | None]]


class Recorder:
    """Each lane's curves over a render; figures stay on the device until asked for.

    ``curves()`` gives plain lists (None where a frame has no figure, e.g. the first frame's
    boil) for ``render.json``; ``earlier`` continues those lists after a resume.
    """

    def __init__(self, lanes: Sequence[str], earlier: Mapping[str, Curves] | None = None):
        self.lanes = list(lanes)
        self.earlier = dict(earlier or {})
        self.rows: list[dict[str, torch.Tensor]] = []

    def add(self, figures: Mapping[str, torch.Tensor]) -> None:
        """One frame of every lane, as :func:`measure` returns it."""
        self.rows.append({name: value.detach() for name, value in figures.items()})

    def curves(self) -> dict[str, dict[str, list[float | None]]]:
        """lane -> curve -> one number (or None) per frame; one transfer from the device per curve."""
        out = {lane: {name: list(self.earlier.get(lane, {}).get(name, [])) for name in CURVES} for lane in self.lanes}
        for name in CURVES:
            present = [row[name] for row in self.rows if name in row]
            stacked = iter(torch.stack(present).cpu().tolist() if present else [])
            for row in self.rows:
                numbers = next(stacked) if name in row else [None] * len(self.lanes)
                for lane, number in zip(self.lanes, numbers):
                    out[lane][name].append(None if number is None or math.isnan(number) else number)
        return out


@dataclass(frozen=True)
class Verdict:
    """``word`` is "ok" or what went wrong; ``figure`` the number that decided it, ``note`` in words."""

    curve: str
    word: str
    figure: float
    note: str


EARLY, LATE = (0.1, 0.2), (0.9, 1.0)  # fractions of the render the trend verdicts compare
SETTLED = 1.05  # the start has been dreamed over once the boil is within 5 % of its median over the second half


def window(n: int, span: tuple[float, float]) -> range:
    """The frames of a fraction of an n-frame render, at least one."""
    a = min(int(span[0] * n), n - 1)
    return range(a, max(int(span[1] * n), a + 1))


def spans(curves: Curves) -> tuple[range, range]:
    """The early and late frames the trend verdicts compare.

    Late is the last 10 %. Early is 10 % of the render from frame 10 % on, or from where the start
    image or noise has been dreamed over (the boil has settled, see ``SETTLED``) if that is later
    and the render is long enough: a short render from noise is judged on its dream, not on the
    noise melting into motifs.
    """
    n = max(len(v) for v in curves.values())
    early, late = window(n, EARLY), window(n, LATE)
    boil = list(curves.get("boil", []))
    second_half = [b for b in boil[n // 2 :] if b is not None]
    calm = SETTLED * median(second_half) if second_half else math.inf
    settled = next((i for i, b in enumerate(boil) if b is not None and b <= calm), 0)
    start = max(early.start, min(settled, late.start - len(early)))
    return range(start, start + len(early)), late


def _early_late(values: Sequence[float | None], early: range, late: range) -> tuple[float, float]:
    """The mean of the early and of the late frames (see :func:`spans`)."""

    def mean(frames: range) -> float:
        present = [x for x in (values[i] for i in frames if i < len(values)) if x is not None]
        return sum(present) / len(present) if present else math.nan

    return mean(early), mean(late)


# Thresholds: where the change is plain to see when the video plays (checked against the
# quickstart at 320x180: boil 0.029 dreaming, 0.004 with dream.steps 0; luma 0.49-0.50).
LUMA_BAND = (0.3, 0.7)  # outside it the whole video reads as too dark or too bright
LUMA_DRIFT = 0.15  # fitted change over the render: about a third of the band
FADE = 0.7  # saturation or contrast falling below 70 % of its early value: greying out
BURN = 1.4  # saturation rising past 140 % of its early value
CLIP_BURN = 0.05  # 5 % of values pinned at black or white: crushed or blown areas show
COLLAPSE = 0.75  # centroid falling more than 25 % and still falling: the detail is melting into blobs
DEEP_COLLAPSE = 0.5  # fallen to half: blobs, even if the fall has stopped
STILL_FALLING = 0.15  # fitted fall over the last quarter, as a share of its mean: not yet level
FLICKER = 0.05  # median boil: about 13 steps of 255 per frame everywhere, a visible crawl
SPIKE, SPIKE_REACH = 3.0, 5  # a frame boiling 3x the median of the 5 frames either side (and 0.02 more) jumps


def _slope_change(values: list[float]) -> float:
    """Least-squares line through the curve, as its rise from first to last frame."""
    n = len(values)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, sum(values) / n
    cov = sum((i - mx) * (v - my) for i, v in enumerate(values))
    var = sum((i - mx) ** 2 for i in range(n))
    return cov / var * (n - 1)


Figures = Sequence[float | None]  # one curve, None where a frame has no figure


def _luma(v: Figures, early: range, late: range) -> Verdict:
    _, end = _early_late(v, early, late)
    change = _slope_change([x for x in v[early.start :] if x is not None])
    if not LUMA_BAND[0] <= end <= LUMA_BAND[1]:
        return Verdict("luma", "drift", end, f"ends at {end:.2f}, outside {LUMA_BAND[0]}-{LUMA_BAND[1]}")
    if abs(change) > LUMA_DRIFT:
        return Verdict("luma", "drift", change, f"trend {change:+.2f} from frame {early.start} on")
    return Verdict("luma", "ok", end, f"ends at {end:.2f}, trend {change:+.2f}")


def _fade(curve: str, v: Figures, early: range, late: range, burns: bool) -> Verdict:
    start, end = _early_late(v, early, late)
    ratio = end / start if start > 0 else 1.0
    note = f"{start:.3f} early -> {end:.3f} late ({ratio:.0%})"
    if ratio < FADE:
        return Verdict(curve, "grey-out", ratio, note)
    if burns and ratio > BURN:
        return Verdict(curve, "burn", ratio, note)
    return Verdict(curve, "ok", ratio, note)


def _clip(v: Figures, early: range, late: range) -> Verdict:
    start, end = _early_late(v, early, late)
    note = f"{start:.1%} early -> {end:.1%} late"
    return Verdict("clip", "burn" if end > CLIP_BURN and end > start else "ok", end, note)


def _spikes(values: list[float]) -> list[float]:
    """Frames boiling SPIKE times their neighbours' median: a jump, not the slow settling after the start."""
    found = []
    for i, x in enumerate(values):
        around = median(values[max(0, i - SPIKE_REACH) : i + SPIKE_REACH + 1])
        if x > SPIKE * around and x > around + 0.02:
            found.append(x)
    return found


def _boil(v: Figures, early: range, late: range) -> Verdict:
    present = [x for x in v if x is not None]
    middle, spikes = median(present), _spikes(present)
    note = f"median {middle:.4f}/frame, max {max(present):.4f}, {len(spikes)} spikes"
    if middle > FLICKER:
        return Verdict("boil", "flicker", middle, note)
    if spikes:
        return Verdict("boil", "spikes", max(spikes), note)
    return Verdict("boil", "ok", middle, note)


def _centroid(v: Figures, early: range, late: range) -> Verdict:
    """A fall that levels off is motifs growing to the size they keep (a short render from noise
    ends there); a fall still going at the end, or one to half, is the detail melting."""
    start, end = _early_late(v, early, late)
    ratio = end / start if start > 0 else 1.0
    note = f"{start:.3f} early -> {end:.3f} late cycles/px ({ratio:.0%})"
    last = [x for x in v[len(v) - max(8, len(v) // 4) :] if x is not None]
    falling = -_slope_change(last) / (sum(last) / len(last)) if last and sum(last) > 0 else 0.0
    if ratio < DEEP_COLLAPSE or (ratio < COLLAPSE and falling > STILL_FALLING):
        return Verdict("centroid", "collapse", ratio, f"{note}, {falling:.0%} fall over the last quarter")
    if ratio < COLLAPSE:
        return Verdict("centroid", "ok", ratio, f"{note}: motifs grew to their size, level over the last quarter")
    return Verdict("centroid", "ok", ratio, note)


JUDGES: dict[str, Callable[[Figures, range, range], Verdict]] = {
    "luma": _luma,
    "saturation": functools.partial(_fade, "saturation", burns=True),
    "contrast": functools.partial(_fade, "contrast", burns=False),
    "clip": _clip,
    "boil": _boil,
    "centroid": _centroid,
}


def verdicts(curves: Curves) -> list[Verdict]:
    """One verdict per curve of one lane (curves with no figures are skipped)."""
    early, late = spans(curves)
    present = [name for name in CURVES if any(x is not None for x in curves.get(name, []))]
    return [JUDGES[name](curves[name], early, late) for name in present]
