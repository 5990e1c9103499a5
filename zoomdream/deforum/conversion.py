"""One Deforum settings dict to one zoomdream recipe: name, seed, size and timing here, the camera
in ``camera``, the keyframes in ``keyframes``, the listing in ``recipe``, the last word in ``check``.

This is the module that decides which Deforum setting feeds which zoomdream key, so it is also
where each zoomdream key's origin is recorded: an error found in the finished recipe is reported
as the Deforum setting the user wrote, never as a zoomdream key they did not.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ..config import MAX_SIDE, MIN_SIDE, NAME_PATTERN
from .camera import Origins, camera_2d, camera_3d
from .check import check_recipe
from .errors import DeforumError, shown
from .keyframes import Reader
from .recipe import Conversion, Dropped, flow, why
from .settings import number, read_settings, refuse_still, whole

DEFAULT_FPS = 15
SIZE_STEP = 8  # Deforum renders at W - W % 8, H - H % 8
MAX_SEED = 2**63 - 1
COLOR_SPACES = {"RGB": "rgb", "LAB": "lab", "HSV": "lab"}


def convert_file(path: Path) -> str:
    """The recipe for a settings file, as commented YAML."""
    try:
        return convert(read_settings(path), path.stem).text(path.name)
    except DeforumError as error:
        message = str(error)
        raise DeforumError(message if message.startswith(f"{path}: ") else f"{path}: {message}") from None


def convert(settings: dict[str, Any], stem: str) -> Conversion:
    """Map one Deforum settings dict; ``stem`` (the file's name) fills a ``{timestring}`` in its batch name.

    The recipe is checked before it is returned (``check.check_recipe``): what comes back is
    one zoomdream accepts and can render at every frame, or a DeforumError naming the setting.
    """
    result = Conversion(config={})
    used: set[str] = set()

    def take(key: str, default: Any = None) -> Any:
        used.add(key)
        return settings.get(key, default)

    mode = take("animation_mode")
    refuse_still(mode)
    config, notes = result.config, result.notes
    config["name"] = _name(take("batch_name"), stem)
    config["seed"] = _seed(take("seed", -1), settings, notes)
    # Deforum Studio and the tools around it save width/height where the notebook and A1111 save W/H
    across = "W" if "W" in settings or "width" not in settings else "width"
    down = "H" if "H" in settings or "height" not in settings else "height"
    config["size"] = flow(_size((across, take(across, 512)), (down, take(down, 512)), notes))
    config["frames"] = whole("max_frames", take("max_frames"), minimum=1)
    config["fps"] = number("fps", take("fps", DEFAULT_FPS))
    if "fps" not in settings:
        notes.append(f"fps: not in the settings file; Deforum's default {DEFAULT_FPS}")
    origins: Origins = {"name": ("batch_name", settings.get("batch_name")), "seed": ("seed", settings.get("seed")),
                        "size": (f"{across}/{down}", [settings.get(across), settings.get(down)]),
                        "frames": ("max_frames", settings.get("max_frames")), "fps": ("fps", settings.get("fps"))}
    reader = Reader(config["frames"], config["seed"], float(config["fps"]), notes)
    motion = config["motion"] = {}
    if mode == "2D":
        camera_2d(settings, take, reader, motion, origins)
    elif mode == "3D":
        camera_3d(settings, config["size"], take, reader, motion, notes, origins)
    else:
        motion["zoom"] = 1.0
        notes.append(f"motion: animation_mode {mode!r} has no camera motion in Deforum, so none here")
    if "diffusion_cadence" in settings:
        motion["dream_every"] = min(64, whole("diffusion_cadence", take("diffusion_cadence"), minimum=1))
        origins["motion.dream_every"] = ("diffusion_cadence", settings["diffusion_cadence"])
    if "noise_schedule" in settings:
        config["dream"] = {"noise": reader.scaled(reader.read("noise_schedule", take("noise_schedule")))}
        origins["dream.noise"] = ("noise_schedule", settings["noise_schedule"])
    if "color_coherence" in settings:
        color = _color(settings["color_coherence"], notes)
        used.update(["color_coherence"] if color else [])
        config["color"] = flow(color or {"mode": "none"})
        origins["color"] = ("color_coherence", settings["color_coherence"])
    result.dropped = {key: Dropped(*why(key, mode), settings[key]) for key in settings if key not in used}
    check_recipe(config, origins)
    return result


def _color(coherence: Any, notes: list[str]) -> dict[str, Any] | None:
    """Deforum matches every frame's histograms to frame 0's, fully: strength 1. None: not carried."""
    if coherence == "None":
        return {"mode": "none"}
    space = str(coherence).removeprefix("Match Frame 0 ")  # the names before Deforum's 2023 rename
    if space not in COLOR_SPACES:
        notes.append(f"color: {shown(coherence)} colour coherence is not carried, so colour matching is off")
        return None
    if space == "HSV":
        notes.append(f"color: Deforum's {shown(coherence)} matches histograms in HSV; approximated in LAB")
    return {"mode": "histogram", "space": COLOR_SPACES[space], "reference": "first_frame", "strength": 1.0}


def _size(width: tuple[str, Any], height: tuple[str, Any], notes: list[str]) -> list[int]:
    """Deforum renders at multiples of 8; zoomdream takes 32..8192 pixels a side."""
    wanted = [number(*width), number(*height)]
    size = [min(MAX_SIDE, max(MIN_SIDE, int(side) - int(side) % SIZE_STEP)) for side in wanted]
    if size != wanted:
        notes.append(f"size: {width[0]} x {height[0]} = {wanted[0]:g} x {wanted[1]:g} became {size[0]} x {size[1]} "
                     f"(multiples of {SIZE_STEP}, as Deforum renders, within {MIN_SIDE}..{MAX_SIDE})")
    return size


def _seed(value: Any, settings: dict[str, Any], notes: list[str]) -> int:
    """Deforum's seed; its -1 (random) becomes one derived from the settings, so a rerun repeats."""
    seed = whole("seed", value, minimum=-1)
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
