"""Deforum settings in, a zoomdream recipe out.

Deforum saves a JSON ``*_settings.txt`` next to every render. Its camera (zoom, rotation, pan,
3D moves), timing, size and colour coherence have zoomdream counterparts; everything that drives
Stable Diffusion (prompts, sampler, img2img strength, ...) does not. The recipe keeps Deforum's
schedule strings as they are, so ``t`` expressions still animate, and lists every setting left
behind as a comment, so nothing is dropped silently.

2D mode is carried exactly: Deforum's ``cv2`` warp translates by ``translation_x/y`` pixels and
then rotates (counter-clockwise) and scales about the transform centre, which is zoomdream's
``pan``, ``rotate``, ``zoom`` and ``center`` with the same signs and units. 3D mode is read off
Deforum's ``transform_image_3d`` for a flat depth of 1 (its depth without depth warping, and the
near end of its depth maps), with ``k = tan(fov / 2)``: a point at grid position ``x`` moves by
``P_new(x) - P_old(x)``, which gives the formulas in ``_camera_3d``. A positive
rotation_3d_x moves the picture down and rotation_3d_y moves it left, by the angle over ``k`` at
the centre: a pinhole camera pitching up and turning right with that field of view.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Union

import yaml

from .config import MAX_SIDE, MIN_SIDE, NAME_PATTERN
from .files import read_text

Schedule = Union[float, str]

DEFAULT_FOV = 70.0  # Deforum's fov_schedule default
DEFAULT_FPS = 15
TRANSLATION_UNITS = 200.0  # Deforum's 3D translations are divided by this ("matches Disco")
SIZE_STEP = 8  # Deforum renders at W - W % 8, H - H % 8
MAX_SEED = 2**63 - 1
SETTINGS_HINT = "give the *_settings.txt (JSON text) Deforum saved next to its frames"

COLOR_SPACES = {"RGB": "rgb", "LAB": "lab", "HSV": "lab"}


class DeforumError(ValueError):
    """A settings file that cannot be converted; the message names the file or key and the fix."""


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
        for title in [_CAMERA, *(title for title, _ in _GROUPS)]:
            keys = [key for key, dropped in self.dropped.items() if dropped.group == title]
            lines += [f"-- {title} --"] if keys else []
            for key in keys:
                value, reason = self.dropped[key].value, self.dropped[key].reason
                lines.append(f"not carried: {_key(key)} = {_shown(value)}" + (f" ({reason})" if reason else ""))
        comment = "".join(f"# {line}".rstrip() + "\n" for line in lines)
        return comment + yaml.dump(self.config, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def read_settings(path: Path) -> dict[str, Any]:
    """The settings as Deforum saved them, or one line saying why the file cannot be used."""
    text = read_text(path, DeforumError, SETTINGS_HINT)
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as error:
        raise DeforumError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); "
            "Deforum settings files are JSON"
        ) from None
    if not isinstance(settings, dict) or not {"animation_mode", "max_frames"} <= settings.keys():
        raise DeforumError(
            f"{path}: not a Deforum settings file (no animation_mode and max_frames); {SETTINGS_HINT}"
        )
    return settings


def convert_file(path: Path) -> str:
    """The recipe for a settings file, as commented YAML."""
    try:
        return convert(read_settings(path), path.stem).text(path.name)
    except DeforumError as error:
        message = str(error)
        raise DeforumError(message if message.startswith(f"{path}: ") else f"{path}: {message}") from None


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


def convert(settings: dict[str, Any], stem: str) -> Conversion:
    """Map one Deforum settings dict; ``stem`` (the file's name) fills a ``{timestring}`` in its batch name."""
    result = Conversion(config={})
    used: set[str] = set()

    def take(key: str, default: Any = None) -> Any:
        used.add(key)
        return settings.get(key, default)

    config = result.config
    config["name"] = _name(take("batch_name"), stem)
    config["seed"] = _seed(take("seed", -1), settings, result.notes)
    config["size"] = _flow(_size(take("W", 512), take("H", 512), result.notes))
    config["frames"] = _whole("max_frames", take("max_frames"), minimum=1)
    config["fps"] = _number("fps", take("fps", DEFAULT_FPS))
    if "fps" not in settings:
        result.notes.append(f"fps: not in the settings file; Deforum's default {DEFAULT_FPS}")
    mode = take("animation_mode")
    motion = config["motion"] = {}
    if mode == "2D":
        moves = (("zoom", "zoom"), ("angle", "rotate"), ("translation_x", "pan_x"), ("translation_y", "pan_y"))
        for source, target in moves:
            if source in settings:
                motion[target] = _copy(source, take(source))
        if "transform_center_x" in settings or "transform_center_y" in settings:
            motion["center"] = _flow([_copy(k, take(k, 0.5)) for k in ("transform_center_x", "transform_center_y")])
    elif mode == "3D":
        _camera_3d(settings, config["size"], take, motion, result.notes)
    else:
        motion["zoom"] = 1.0
        result.notes.append(f"motion: animation_mode {mode!r} has no camera motion in Deforum, so none here")
    if "diffusion_cadence" in settings:
        motion["dream_every"] = min(64, _whole("diffusion_cadence", take("diffusion_cadence"), minimum=1))
    if "noise_schedule" in settings:
        config["dream"] = {"noise": _copy("noise_schedule", take("noise_schedule"))}
    if "color_coherence" in settings:
        color = _color(settings["color_coherence"], result.notes)
        used.update(["color_coherence"] if color else [])
        config["color"] = _flow(color or {"mode": "none"})
    result.dropped = {key: Dropped(*_why(key, mode), settings[key]) for key in settings if key not in used}
    return result


def _color(coherence: Any, notes: list[str]) -> dict[str, Any] | None:
    """Deforum matches every frame's histograms to frame 0's, fully: strength 1. None: not carried."""
    if coherence == "None":
        return {"mode": "none"}
    space = str(coherence).removeprefix("Match Frame 0 ")  # the names before Deforum's 2023 rename
    if space not in COLOR_SPACES:
        notes.append(f"color: {_shown(coherence)} colour coherence is not carried, so colour matching is off")
        return None
    if space == "HSV":
        notes.append(f"color: Deforum's {_shown(coherence)} matches histograms in HSV; approximated in LAB")
    return {"mode": "histogram", "space": COLOR_SPACES[space], "reference": "first_frame", "strength": 1.0}


def _camera_3d(
    settings: dict[str, Any], size: list[int], take: Callable[..., Any], motion: dict[str, Any], notes: list[str]
) -> None:
    """Deforum's 3D camera as zoomdream moves, for flat depth; see the module docstring."""
    fov = _fov(settings, take, notes)
    k = math.tan(math.radians(fov) / 2)
    width, height = size
    moves = {
        # translation_z: grid x samples x * (1 - c), c = tz / ((200 - tz) k): a zoom of 1 / (1 - c)
        "zoom": ("translation_z", lambda v: 1 / (1 - v / ((TRANSLATION_UNITS - v) * k)),
                 lambda e: f"1/(1-({e})/(({TRANSLATION_UNITS:g}-({e}))*{k:.6g}))"),
        # the camera moving right moves the picture left; down-positive y keeps its sign
        "pan_x": ("translation_x", *_scaled(-width / (2 * TRANSLATION_UNITS * k))),
        "pan_y": ("translation_y", *_scaled(height / (2 * TRANSLATION_UNITS * k))),
        # a roll turns projected points, which sit 1/k further out than the grid they move
        "rotate": ("rotation_3d_z", *_scaled(1 / k)),
    }
    for target, (source, number, expression) in moves.items():
        if source in settings:
            motion[target] = _rescale(source, take(source), number, expression)
    for source, target in (("rotation_3d_x", "tilt_x"), ("rotation_3d_y", "tilt_y")):
        if source in settings:
            motion[target] = _copy(source, take(source))
    notes += [
        f"motion (3D): Deforum's 3D warp for flat depth, fov {fov:g} (k = tan(fov/2) = {k:.4f}):",
        "  zoom = 1 / (1 - tz / ((200 - tz) * k))  from translation_z = tz",
        "  pan_x = -W / (400 k) * translation_x,  pan_y = H / (400 k) * translation_y  (pixels per frame)",
        "  rotate = rotation_3d_z / k;  tilt_x = rotation_3d_x, tilt_y = rotation_3d_y  (degrees per frame)",
        "  with a depth map Deforum moves far parts up to half as much; zoomdream moves the frame as one",
    ]


def _scaled(factor: float) -> tuple[Callable[[float], float], Callable[[str], str]]:
    return (lambda v: factor * v), (lambda e: f"{factor:.6g}*({e})")


def _fov(settings: dict[str, Any], take: Callable[..., Any], notes: list[str]) -> float:
    """The field of view the 3D warp used; a keyframed one is read at frame 0."""
    key = "fov_schedule" if "fov_schedule" in settings else "fov"
    if key not in settings:
        notes.append(f"motion (3D): no fov in the settings; used Deforum's default {DEFAULT_FOV:g}")
        return DEFAULT_FOV
    value = take(key)
    keys = _schedule(key, value)
    first = _constant(keys[0][1])
    if first is None or not 0 < first < 180:
        raise DeforumError(f"{key}: the 3D conversion needs a field of view in degrees at frame 0 (got {_shown(value)})")
    if len(keys) > 1:
        notes.append(f"motion (3D): {key} is keyframed; its frame-0 value {first:g} is used throughout")
    return first


def _keyframes(key: str, text: str) -> list[tuple[str, str]]:
    """``"0: (1.02), 60: (x)"`` as (key, expression) pairs, split the way Deforum splits them."""
    pairs = []
    for part in text.split(","):
        frame, colon, value = part.partition(":")
        value = value.strip()
        if not colon or not frame.strip() or not value:
            raise DeforumError(f'{key}: {_shown(text)} is not a Deforum schedule like "0: (1.02), 60: (1.05)"')
        if value.startswith("(") and value.endswith(")"):
            value = value[1:-1].strip()
        pairs.append((frame.strip(), value))
    return pairs


def _constant(expression: str) -> float | None:
    try:
        value = float(expression)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _schedule(key: str, value: Any) -> list[tuple[str, str]]:
    """A schedule's keyframes; an older file's plain number is one keyframe at frame 0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [("0", repr(value))]
    if not isinstance(value, str):
        raise DeforumError(f'{key}: expected a schedule string like "0: (1.02)" (got {_shown(value)})')
    return _keyframes(key, value)


def _single(pairs: list[tuple[str, str]]) -> float | None:
    """The value of a schedule that is one constant from frame 0 on."""
    return _constant(pairs[0][1]) if len(pairs) == 1 and pairs[0][0] == "0" else None


def _copy(key: str, value: Any) -> Schedule:
    """A schedule as Deforum wrote it; one constant keyframe at frame 0 becomes a plain number."""
    only = _single(_schedule(key, value))
    return _tidy(only) if only is not None else value


def _rescale(key: str, value: Any, number: Callable[[float], float], expression: Callable[[str], str]) -> Schedule:
    """A schedule through a formula, keyframe by keyframe: constants computed, expressions wrapped."""
    out = []
    for frame, text in _schedule(key, value):
        constant = _constant(text)
        if constant is None:
            out.append((frame, expression(text)))
            continue
        try:
            result = number(constant)
        except ZeroDivisionError:
            result = math.inf
        if not math.isfinite(result):
            raise DeforumError(f"{key}: {constant:g} has no zoomdream equivalent (the converted value is infinite)")
        out.append((frame, f"{_tidy(result):g}"))
    only = _single(out)
    return _tidy(only) if only is not None else ", ".join(f"{frame}: ({text})" for frame, text in out)


def _tidy(value: float) -> float:
    """Six significant digits: the formulas are approximations, and long floats hide the numbers."""
    return float(f"{value:.6g}") + 0.0


def _number(key: str, value: Any) -> float:
    """A number, also from the strings some Deforum versions save (``"diffusion_cadence": "2"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, (float, str)):
        raise DeforumError(f"{key}: expected a number (got {_shown(value)})")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise DeforumError(f"{key}: expected a number (got {_shown(value)})") from None
    if not math.isfinite(number):
        raise DeforumError(f"{key}: expected a finite number (got {_shown(value)})")
    return int(number) if number == int(number) else number


def _whole(key: str, value: Any, minimum: int) -> int:
    number = _number(key, value)
    if number != int(number) or number < minimum:
        raise DeforumError(f"{key}: expected a whole number ≥ {minimum} (got {_shown(value)})")
    return int(number)


def _size(width: Any, height: Any, notes: list[str]) -> list[int]:
    """Deforum renders at multiples of 8; zoomdream takes 32..8192 pixels a side."""
    wanted = [_number("W", width), _number("H", height)]
    size = [min(MAX_SIDE, max(MIN_SIDE, int(side) - int(side) % SIZE_STEP)) for side in wanted]
    if size != wanted:
        notes.append(f"size: W x H = {wanted[0]:g} x {wanted[1]:g} became {size[0]} x {size[1]} "
                     f"(multiples of {SIZE_STEP}, as Deforum renders, within {MIN_SIDE}..{MAX_SIDE})")
    return size


def _seed(value: Any, settings: dict[str, Any], notes: list[str]) -> int:
    """Deforum's seed; its -1 (random) becomes one derived from the settings, so a rerun repeats."""
    seed = _whole("seed", value, minimum=-1)
    if seed > MAX_SEED:
        raise DeforumError(f"seed: must be at most {MAX_SEED} (got {seed})")
    if seed == -1:
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).digest()
        seed = int.from_bytes(digest[:4], "big")
        notes.append(f"seed: Deforum's -1 draws a new random seed every run; fixed to {seed} "
                     "(from the settings' hash) so this recipe renders the same every time")
    return seed


def _name(batch_name: Any, stem: str) -> str:
    """Deforum's output folder name: batch_name with {timestring} from the settings file's name."""
    timestring = re.match(r"^(\d+)_settings$", stem)
    if isinstance(batch_name, str) and batch_name.strip():
        name = batch_name.replace("{timestring}", timestring.group(1) if timestring else "")
    else:
        name = stem
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:100]
    return name if re.match(NAME_PATTERN, name) else "deforum"


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
_CAMERA = "camera settings this animation mode does not use"
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


def _why(key: str, mode: Any) -> tuple[str, str]:
    """(group title, specific reason or "") for a setting that is not carried."""
    for other, keys in _MODE_ONLY.items():
        if key in keys and mode != other:
            return _CAMERA, f"{other} mode only; this file is animation_mode {mode}"
    if key in ("translation_x", "translation_y") and mode not in ("2D", "3D"):
        return _CAMERA, f"no camera motion in animation_mode {mode}"
    title = next(title for title, pattern in _GROUPS if re.search(pattern, key))
    return title, _REASONS.get(key, "")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[\w.-]+", key) else json.dumps(key)


def _shown(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _FlowList(list):
    """A short list that reads best on one line, like ``size: [512, 512]``."""


class _FlowMap(dict):
    """A short mapping that reads best on one line, like ``color: {mode: none}``."""


def _flow(value: Any) -> Any:
    return _FlowMap(value) if isinstance(value, dict) else _FlowList(value)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style='"' if ":" in v else None))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
