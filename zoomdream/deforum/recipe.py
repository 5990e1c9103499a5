"""The converted recipe as the file the user gets: commented YAML that says how it was derived and
lists every Deforum setting it leaves behind, each on its own line under a heading saying why.

Its own module because the listing is a table of Deforum's many settings (ControlNet, hybrid video,
prompts, ...) that changes with Deforum's versions and not with the camera conversion.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from .errors import DeforumError, shown


class Dropped(NamedTuple):
    """A setting left behind: its group in the listing, why (when the group does not say), its value."""

    group: str
    reason: str
    value: Any


@dataclass
class Conversion:
    """The recipe, the notes that explain it, and the Deforum settings it leaves behind."""

    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, Dropped] = field(default_factory=dict)

    def text(self, source: str) -> str:
        """Commented YAML: how the recipe was derived, then one line per setting left behind."""
        lines = [f"zoomdream recipe converted from the Deforum settings file {source} by `zoomdream from-deforum`.",
                 *self.notes, ""]
        for title in [CAMERA, *(title for title, _ in _GROUPS)]:
            keys = [key for key, dropped in self.dropped.items() if dropped.group == title]
            lines += [f"-- {title} --"] if keys else []
            for key in keys:
                value, reason = self.dropped[key].value, self.dropped[key].reason
                lines.append(f"not carried: {_key(key)} = {shown(value)}" + (f" ({reason})" if reason else ""))
        comment = "".join(f"# {line}".rstrip() + "\n" for line in lines)
        return comment + yaml.dump(self.config, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def write_config(text: str, out: Path, force: bool) -> None:
    """Write beside the target and rename, so an interrupted write leaves no half a recipe."""
    if out.exists() and not force:
        raise DeforumError(f"{out}: already exists; pass --force to replace it")
    partial = out.with_name(f".{out.name}.part")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise DeforumError(f"{out}: cannot write it ({error.strerror})") from None


# Why a setting is left behind: a specific reason where one helps, else its group's title says why.
_REASONS = {
    "strength": "no img2img strength in zoomdream",
    "strength_schedule": "no img2img strength in zoomdream",
    "contrast_schedule": "zoomdream has no contrast control",
    "cfg_scale_schedule": "no prompt guidance in zoomdream",
    "seed_schedule": "zoomdream keeps one seed for the whole render",
    "seed_behavior": "zoomdream keeps one seed for the whole render",
    "color_coherence": "colour matching to a video or an image is not carried",
    "border": "zoomdream fills uncovered borders by reflection",
    "padding_mode": "zoomdream fills uncovered borders by reflection",
    "sampling_mode": "zoomdream resamples bilinearly",
    "noise_type": "dream.noise takes the amount only",
    "near_schedule": "clip plane: moves no pixels in Deforum's 3D warp",
    "far_schedule": "clip plane: moves no pixels in Deforum's 3D warp",
    "aspect_ratio_schedule": "the 3D conversion assumes Deforum's default 1",
    "use_depth_warping": "no depth map: 3D moves are converted for flat depth",
    "depth_algorithm": "no depth map: 3D moves are converted for flat depth",
    "midas_weight": "no depth map: 3D moves are converted for flat depth",
}
_MODE_ONLY = {
    "2D": ("angle", "zoom", "transform_center_x", "transform_center_y"),
    "3D": ("translation_z", "rotation_3d_x", "rotation_3d_y", "rotation_3d_z", "fov_schedule", "fov"),
}
CAMERA = "camera settings this animation mode does not use"
_GROUPS = [  # (title, pattern): a key goes to the first group whose pattern it contains
    ("ControlNet", r"^cn_"),
    ("Parseq and guided images", r"parseq|looper|blendFactor|tweening|image_strength|init_images|color_correction"),
    ("optical flow and hybrid video", r"flow|hybrid|redo|cadence"),
    ("video input", r"^video_|extract|mask_video"),
    ("image generation: zoomdream dreams with a CNN, there is no diffusion model, prompt or sampler",
     r"prompt|sampler|steps|cfg|^scale$|strength|seed|checkpoint|clipskip|_eta|pix2pix|sd_model|sd_vae|"
     r"restore_faces|tiling|noise_multiplier|^fill$|reroll|^n_batch$|threshold$"),
    ("init image and masks", r"init|mask"),
    ("colour and noise", r"colo|noise|perlin|contrast"),
    ("3D depth and perspective", r"depth|midas|near|far|fov|aspect|perspective|border|padding|sampling_mode"),
    ("anti-blur (zoomdream's motion.sharpen works differently)", r"^(amount|kernel|sigma|threshold)_schedule$"),
    ("video output and upscaling (zoomdream writes its own MP4 and frames)",
     r"gif|delete|soundtrack|upscale|interpolation|store_frames|skip_video|ffmpeg|mp4|image_path"),
    ("UI and bookkeeping", r""),
]


def why(key: str, mode: Any) -> tuple[str, str]:
    """(group title, specific reason or "") for a setting that is not carried."""
    for other, keys in _MODE_ONLY.items():
        if key in keys and mode != other:
            return CAMERA, f"{other} mode only; this file is animation_mode {mode}"
    if key in ("translation_x", "translation_y") and mode not in ("2D", "3D"):
        return CAMERA, f"no camera motion in animation_mode {mode}"
    title = next(title for title, pattern in _GROUPS if re.search(pattern, key))
    return title, _REASONS.get(key, "")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[\w.-]+", key) else json.dumps(key)


class _FlowList(list):
    """A short list that reads best on one line, like ``size: [512, 512]``."""


class _FlowMap(dict):
    """A short mapping that reads best on one line, like ``color: {mode: none}``."""


def flow(value: Any) -> Any:
    """A list or mapping to be written on one line."""
    return _FlowMap(value) if isinstance(value, dict) else _FlowList(value)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style='"' if ":" in v else None))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
