"""Colour coherence: keep a long zoom from fading to grey, burning to saturated noise or flickering.

Each frame is pulled toward a reference palette. A *mode* says what is matched (per-channel
mean and spread, or the whole per-channel histogram), a *space* says in which channels (RGB,
or CIELAB, where lightness is apart from hue), and the reference is the first frame, an image,
or a rolling average of the render's own recent frames. Modes and spaces are entries in the
tables below; one :class:`ColorCoherence` per render holds the references, batched over lanes.

This module takes plain numbers and tensors only, so the render loop wires it and nothing here
depends on the config or the loop. The config reads the mode and space names from the tables,
so torch is imported inside the functions that compute, not when the tables are read.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

if TYPE_CHECKING:
    from torch import Tensor

MAX_CONTRAST_STEP = 2.0
QUANTILES = 256
BINS = 4096
REFERENCES = ("first_frame", "rolling", "image")

# A mode measures a frame (b, 3, H, W) in the working space and returns its statistics
# (b, 3, S), which are what a reference is made of, and a function that moves the frame to
# given reference statistics. Statistics are averaged linearly for the rolling reference.
Mode = Callable[["Tensor"], "tuple[Tensor, Callable[[Tensor], Tensor]]"]


def mean_std(x: Tensor) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
    """Per-channel mean and spread; the spread moves by at most MAX_CONTRAST_STEP per frame,
    so one odd frame (or a flat one) cannot swing the whole palette."""
    import torch

    flat = x.flatten(2)
    mean, std = flat.mean(-1), flat.std(-1)

    def to(reference: Tensor) -> Tensor:
        gain = (reference[..., 1] / std.clamp_min(1e-4)).clamp(1 / MAX_CONTRAST_STEP, MAX_CONTRAST_STEP)
        return (x - mean[..., None, None]) * gain[..., None, None] + reference[..., 0, None, None]

    return torch.stack([mean, std], -1), to


def histogram(x: Tensor) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
    """Per-channel histogram matching: each value goes to the reference's value at the same rank.

    Statistics are QUANTILES evenly spaced quantiles per channel. Ranks come from a histogram of
    BINS bins over each channel's own range (linear within a bin), which costs a few passes over
    the pixels instead of a sort; equal values keep equal ranks, so flat areas stay flat.
    """
    import torch

    b, c, h, w = x.shape
    flat = x.reshape(b * c, h * w)
    lo, hi = flat.aminmax(dim=-1)
    width = hi - lo
    flat_rows = width <= 1e-6
    scale = BINS / width.clamp_min(1e-6)
    u = (flat - lo[:, None]) * scale[:, None]
    bins = u.long().clamp_(0, BINS - 1)
    frac = u - bins
    offsets = torch.arange(b * c, device=x.device)[:, None] * BINS
    counts = torch.bincount((bins + offsets).flatten(), minlength=b * c * BINS).view(b * c, BINS)
    cdf = counts.cumsum(-1)  # integers, exact at any frame size
    # Rank at each bin edge, 0 .. 1; a flat channel sits at the middle rank (the reference median).
    edges = torch.cat([cdf.new_zeros(b * c, 1), cdf], -1).to(x.dtype) / (h * w)
    edges = torch.where(flat_rows[:, None], torch.full_like(edges, 0.5), edges)

    levels = torch.linspace(0, h * w, QUANTILES, device=x.device, dtype=x.dtype).expand(b * c, -1)
    j = torch.searchsorted(cdf, levels.ceil().long().contiguous()).clamp_(max=BINS - 1)
    before = (cdf - counts).gather(1, j).to(x.dtype)
    within = ((levels - before) / counts.gather(1, j).clamp_min(1).to(x.dtype)).clamp(0, 1)
    quantiles = lo[:, None] + (j + within) / scale[:, None]

    def to(reference: Tensor) -> Tensor:
        table = _at_rank(reference.reshape(b * c, QUANTILES), edges)
        left, right = table.gather(1, bins), table.gather(1, bins + 1)
        return torch.lerp(left, right, frac).view(b, c, h, w)

    return quantiles.view(b, c, QUANTILES), to


def _at_rank(quantiles: Tensor, rank: Tensor) -> Tensor:
    """Each row's quantile function (evenly spaced knots) evaluated at ranks in [0, 1]."""
    import torch

    pos = rank * (quantiles.shape[-1] - 1)
    i = pos.floor().long().clamp_(0, quantiles.shape[-1] - 2)
    return torch.lerp(quantiles.gather(1, i), quantiles.gather(1, i + 1), pos - i)


MODES: dict[str, Mode] = {"mean_std": mean_std, "histogram": histogram}

# sRGB (D65) -> CIE XYZ, and the D65 white point; the inverse is computed, not a rounded table,
# so a round trip is exact to float precision.
_RGB_TO_XYZ = [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
_WHITE = [0.95047, 1.0, 1.08883]
_DELTA = 6 / 29


@functools.cache
def _xyz() -> tuple[Tensor, Tensor]:
    """sRGB -> XYZ relative to white, and its inverse, as float32."""
    import torch

    forward = torch.tensor(_RGB_TO_XYZ, dtype=torch.float64) / torch.tensor(_WHITE, dtype=torch.float64)[:, None]
    return forward.float(), torch.linalg.inv(forward).float()


def _mix(matrix: Tensor, x: Tensor) -> Tensor:
    import torch

    return torch.einsum("ij,bjhw->bihw", matrix.to(x), x)


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1] to CIELAB (D65): L in [0, 100], a* and b* roughly in [-128, 128]."""
    import torch

    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp_min(0) + 0.055) / 1.055) ** 2.4)
    t = _mix(_xyz()[0], linear)
    f = torch.where(t > _DELTA**3, t.clamp_min(_DELTA**3) ** (1 / 3), t / (3 * _DELTA**2) + 4 / 29)
    fx, fy, fz = f.unbind(1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], 1)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """CIELAB (D65) back to sRGB, clamped to [0, 1] (matched colours may leave the gamut)."""
    import torch

    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], 1)
    t = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4 / 29))
    linear = _mix(_xyz()[1], t).clamp(0, 1)
    return torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055).clamp(0, 1)


def _identity(x: Tensor) -> Tensor:
    return x


SPACES: "dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]]" = {
    "rgb": (_identity, _identity),
    "lab": (rgb_to_lab, lab_to_rgb),
}


@dataclass(frozen=True)
class ColorSettings:
    """One lane's colour settings as plain values.

    ``reference`` is ``first_frame``, ``rolling`` or ``image`` (then ``image`` is the picture,
    (1, 3, H, W) in [0, 1]); ``memory`` is the rolling average's time constant in frames.
    """

    mode: str = "mean_std"
    space: str = "rgb"
    reference: str = "first_frame"
    image: Optional[Tensor] = field(default=None, compare=False, repr=False)
    memory: float = 240.0

    def __post_init__(self) -> None:
        if self.mode not in (*MODES, "none"):
            raise ValueError(f"colour mode {self.mode!r} is not one of {', '.join(MODES)}, none")
        if self.space not in SPACES:
            raise ValueError(f"colour space {self.space!r} is not one of {', '.join(SPACES)}")
        if self.reference not in REFERENCES:
            raise ValueError(f"colour reference {self.reference!r} is not one of {', '.join(REFERENCES)}")
        if (self.image is not None) != (self.reference == "image" and self.mode != "none"):
            raise ValueError("give a colour reference image exactly when reference is 'image' (and mode is not none)")
        if not self.memory > 0:
            raise ValueError(f"colour memory must be > 0 frames (got {self.memory})")

    @property
    def key(self) -> str:
        return f"{self.mode}/{self.space}/{self.reference}"


class ColorCoherence:
    """The colour references of one render, one per lane, and the pull toward them.

    Called once per dreamed frame; ``every`` is the number of output frames between calls
    (``motion.dream_every``), so a rolling reference remembers ``memory`` frames of video
    whatever the dreaming rate. Lanes that share a mode and space are matched as one batch.
    """

    def __init__(self, lanes: Sequence[ColorSettings], every: int = 1):
        self.lanes = list(lanes)
        self.rates = [1 - math.exp(-every / lane.memory) for lane in self.lanes]
        self.references: list[Optional[Tensor]] = [None] * len(self.lanes)
        groups: dict[tuple[str, str], list[int]] = {}
        for i, lane in enumerate(self.lanes):
            if lane.mode != "none":
                groups.setdefault((lane.mode, lane.space), []).append(i)
        self.groups = list(groups.items())

    def __call__(self, frame: Tensor, strength: Tensor) -> Tensor:
        """``frame`` (B, 3, H, W) in [0, 1] pulled toward each lane's reference by ``strength``
        (B,) in [0, 1]; a strength of 0 leaves a lane's frame as it is."""
        import torch

        out = frame
        for (mode, space), lanes in self.groups:
            whole = len(lanes) == len(frame)
            index = torch.tensor(lanes, device=frame.device)
            x = frame if whole else frame.index_select(0, index)
            to_space, from_space = SPACES[space]
            own, transfer = MODES[mode](to_space(x.float()))
            reference = torch.stack([self._reference(i, own[k]) for k, i in enumerate(lanes)])
            matched = from_space(transfer(reference)).to(x.dtype)
            s = strength[lanes].to(x).view(-1, 1, 1, 1)
            pulled = (x + s * (matched - x)).clamp(0, 1)
            out = pulled if whole else out.index_copy(0, index, pulled)
        return out

    def _reference(self, lane: int, own: Tensor) -> Tensor:
        """Lane ``lane``'s reference statistics after seeing a frame with statistics ``own``."""
        import torch

        settings, reference = self.lanes[lane], self.references[lane]
        if reference is None:
            if settings.image is not None:
                reference = MODES[settings.mode](SPACES[settings.space][0](settings.image.to(own)))[0][0]
            else:
                reference = own
        elif settings.reference == "rolling":
            reference = torch.lerp(reference.to(own), own, self.rates[lane])
        reference = reference.to(own)
        self.references[lane] = reference
        return reference

    def state_dict(self) -> dict[str, Any]:
        """The references (CPU copies), which a resumed render needs to continue bit for bit."""
        return {
            "lanes": [lane.key for lane in self.lanes],
            "references": [None if r is None else r.detach().cpu().clone() for r in self.references],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if list(state["lanes"]) != [lane.key for lane in self.lanes]:
            raise ValueError(f"colour state is for lanes {state['lanes']}, not {[lane.key for lane in self.lanes]}")
        self.references = [None if r is None else r.clone() for r in state["references"]]
