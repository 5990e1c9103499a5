"""Deforum's camera as zoomdream's motion section: 2D exactly, 3D for flat depth, frame by frame.

2D mode is carried exactly: Deforum's ``cv2`` warp translates by ``translation_x/y`` pixels and
then rotates (counter-clockwise) and scales about the transform centre, which is zoomdream's
``pan``, ``rotate``, ``zoom`` and ``center`` with the same signs and units. 3D mode is read off
Deforum's ``transform_image_3d`` for a flat depth of 1 (its depth without depth warping, and the
near end of its depth maps), with ``k = tan(fov / 2)``: a point at grid position ``x`` moves by
``P_new(x) - P_old(x)``, which gives the formulas below. A positive rotation_3d_x moves the
picture down and rotation_3d_y moves it left: a camera pitching up and turning right.

Deforum evaluates these per frame from each frame's translation_z and fov, so a conversion that
is not linear in them (the zoom; every move once fov is keyframed) is written stretch by stretch
as a formula of ``t`` (``Reader.mapped``), never by converting the keys and interpolating.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .errors import DeforumError, shown
from .keyframes import Reader, Track
from .recipe import flow

DEFAULT_FOV = 70.0  # Deforum's fov_schedule default
TRANSLATION_UNITS = 200.0  # Deforum's 3D translations are divided by this ("matches Disco")

Origins = dict[str, tuple[str, Any]]  # zoomdream key -> (the Deforum key it came from, its value)
Take = Callable[..., Any]


def camera_2d(settings: dict[str, Any], take: Take, reader: Reader, motion: dict[str, Any], origins: Origins) -> None:
    """Deforum's 2D moves, copied with Deforum's keyframe semantics."""
    moves = (("zoom", "zoom"), ("angle", "rotate"), ("translation_x", "pan_x"), ("translation_y", "pan_y"))
    for source, target in moves:
        if source in settings:
            motion[target] = reader.scaled(reader.read(source, take(source)))
            origins[f"motion.{target}"] = (source, settings[source])
    _still_zoom(settings, "zoom", motion)
    centre = ("transform_center_x", "transform_center_y")
    if any(key in settings for key in centre):
        motion["center"] = flow([reader.scaled(reader.read(key, take(key, 0.5))) for key in centre])
        origins.update({f"motion.center.{i}": (key, settings.get(key, 0.5)) for i, key in enumerate(centre)})


def camera_3d(
    settings: dict[str, Any], size: list[int], take: Take, reader: Reader, motion: dict[str, Any],
    notes: list[str], origins: Origins,
) -> None:
    """Deforum's 3D camera as zoomdream moves, for flat depth; see the module docstring."""
    fov = _fov(settings, take, reader, notes)
    width, height = size
    # the camera moving right moves the picture left; down-positive y keeps its sign; a roll turns
    # projected points, which sit 1/k further out than the grid they move
    linear = {"pan_x": ("translation_x", -width / (2 * TRANSLATION_UNITS)),
              "pan_y": ("translation_y", height / (2 * TRANSLATION_UNITS)),
              "rotate": ("rotation_3d_z", 1.0)}
    for target, (source, scale) in linear.items():
        if source not in settings:
            continue
        track = reader.read(source, take(source))
        if fov.constant is not None:
            motion[target] = reader.scaled(track, scale / _k(fov.constant))
        else:
            motion[target] = reader.mapped(
                [track, fov], lambda v, f, scale=scale: scale * v / _k(f),
                lambda e, f, scale=scale: f"({e})/{_k_text(f)}" if scale == 1 else f"{scale:.6g}*({e})/{_k_text(f)}")
        origins[f"motion.{target}"] = (source, settings[source])
    if "translation_z" in settings:
        # grid x samples x * (1 - c), c = tz / ((200 - tz) k): a zoom of 1 / (1 - c), at each frame's tz
        units = TRANSLATION_UNITS
        motion["zoom"] = reader.mapped(
            [reader.read("translation_z", take("translation_z")), fov],
            lambda v, f: 1 / (1 - v / ((units - v) * _k(f))),
            lambda e, f: f"1/(1-({e})/(({units:g}-({e}))*{_k_text(f)}))")
        origins["motion.zoom"] = ("translation_z", settings["translation_z"])
    _still_zoom(settings, "translation_z", motion)
    for source, target in (("rotation_3d_x", "tilt_x"), ("rotation_3d_y", "tilt_y")):
        if source in settings:
            motion[target] = reader.scaled(reader.read(source, take(source)))
            origins[f"motion.{target}"] = (source, settings[source])
    k = "k" if fov.constant is None else f"k = tan(fov/2) = {_k(fov.constant):.4f}"
    lens = (f"fov {fov.constant:g} ({k})" if fov.constant is not None
            else f"{fov.name} followed frame by frame (k = tan(fov/2) at each frame)")
    notes += [
        f"motion (3D): Deforum's 3D warp for flat depth, {lens}:",
        "  zoom = 1 / (1 - tz / ((200 - tz) * k))  from each frame's translation_z = tz; between keys",
        "  Deforum moves tz linearly, so there the zoom is a formula of t, equal to Deforum's at every frame",
        "  pan_x = -W / (400 k) * translation_x,  pan_y = H / (400 k) * translation_y  (pixels per frame)",
        "  rotate = rotation_3d_z / k;  tilt_x = rotation_3d_x, tilt_y = rotation_3d_y  (degrees per frame)",
        "  with a depth map Deforum moves far parts up to half as much; zoomdream moves the frame as one",
    ]


def _still_zoom(settings: dict[str, Any], source: str, motion: dict[str, Any]) -> None:
    """No zoom where the settings have none, rather than zoomdream's default 1.02."""
    if source not in settings:
        motion["zoom"] = 1.0


def _fov(settings: dict[str, Any], take: Take, reader: Reader, notes: list[str]) -> Track:
    """The field of view the 3D warp used, as Deforum reads it; between 0 and 180 at every frame."""
    key = "fov_schedule" if "fov_schedule" in settings else "fov"
    if key not in settings:
        notes.append(f"motion (3D): no fov in the settings; used Deforum's default {DEFAULT_FOV:g}")
        return reader.read("fov", DEFAULT_FOV)
    value = take(key)
    track = reader.read(key, value)
    degrees = reader.values(track)
    outside = ~((degrees > 0) & (degrees < 180))
    if outside.any():
        frame = int(outside.argmax())
        raise DeforumError(f"{key}: the 3D conversion needs a field of view between 0 and 180 degrees; "
                           f"{shown(value)} gives {degrees[frame]:g} at frame {frame}")
    return track


def _k(fov: float) -> float:
    return math.tan(math.radians(fov) / 2)


def _k_text(fov: str) -> str:
    """k for a stretch of fov: a number where fov is constant there, else tan of its formula."""
    try:
        return f"{_k(float(fov)):.6g}"
    except ValueError:
        return f"tan(({fov})*pi/360)"

