"""Dreaming over footage, measured on clips made here with known motion: the shipped clip
(``configs/footage.mp4``: a camera move over ``configs/coffee.jpg``, a ball crossing it, a hard cut
to a second shot) and the same clip at other sizes.

    .venv/bin/python benchmarks/footage.py clip configs/footage.mp4    # (re)make the shipped clip
    .venv/bin/python benchmarks/footage.py flow                        # DIS per frame at 960x540, 1920x1080
    .venv/bin/python benchmarks/footage.py look [--frames 60]          # boil, strength, cut, trail
    .venv/bin/python benchmarks/footage.py speed [--frames 24]         # footage vs noise at the quickstart's settings

Targets (issue 15): boil along the clip's flow with the default carry at most 1/3 of carry 0's at
90 % of its dream strength or more; after the cut the first output frame is closer to its own
source frame than to the output before it; no trail behind the ball; a footage render at the
quickstart's settings at most 1.3x the time of the same recipe from noise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTO = ROOT / "configs" / "coffee.jpg"
RATE = "30000/1001"
SHOTS = (120, 80)  # frames of the first shot (camera move and the ball) and of the second
SAMPLE_RATE = 44_100


# -- the clip ------------------------------------------------------------------------------------


@dataclass
class Truth:
    """What the clip holds, known exactly: each frame's camera (a 2x3 matrix from the frame's pixels
    into the photo's), the ball's centre and radius per frame (None when it is not in the shot), and
    the first frame of the second shot."""

    size: tuple[int, int]
    cameras: list[np.ndarray] = field(default_factory=list)
    balls: list[tuple[float, float, float] | None] = field(default_factory=list)
    cut: int = SHOTS[0]

    def ball_mask(self, t: int, grow: float = 0.0) -> np.ndarray:
        """(H, W) bool: where the ball covers frame t (grown by ``grow`` pixels)."""
        width, height = self.size
        if self.balls[t] is None:
            return np.zeros((height, width), bool)
        x, y, r = self.balls[t]
        ys, xs = np.mgrid[0:height, 0:width]
        return (xs + 0.5 - x) ** 2 + (ys + 0.5 - y) ** 2 <= (r + grow) ** 2


def _camera(scale: float, angle: float, centre: tuple[float, float], size: tuple[int, int]) -> np.ndarray:
    """2x3 matrix from frame pixels to photo pixels: the frame's centre at ``centre``, ``scale`` photo
    pixels per frame pixel, turned by ``angle`` degrees."""
    width, height = size
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) * scale
    shift = np.array(centre) - rot @ np.array([width / 2, height / 2])
    return np.hstack([rot, shift[:, None]])


def _ball(frame: np.ndarray, x: float, y: float, r: float, spin: float) -> None:
    """A striped orange ball, its stripes turning with it (so its own motion is trackable), antialiased."""
    height, width = frame.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    dx, dy = xs + 0.5 - x, ys + 0.5 - y
    d = np.sqrt(dx**2 + dy**2)
    alpha = np.clip(r - d + 0.5, 0, 1)[..., None]
    u = dx * math.cos(spin) + dy * math.sin(spin)
    stripes = 0.5 + 0.5 * np.sin(u / r * 9)
    shade = np.clip(1.1 - 0.6 * (d / r) ** 2 - 0.3 * dy / r, 0.2, 1.2)[..., None]
    colour = (np.array([0.95, 0.45, 0.1]) * (0.55 + 0.45 * stripes[..., None]) + np.array([0.05, 0.2, 0.5]) * (1 - stripes[..., None]) * 0.4) * shade
    frame[:] = frame * (1 - alpha) + np.clip(colour, 0, 1) * 255 * alpha


def frames(size: tuple[int, int] = (480, 270), ball: bool = True, shots: Sequence[int] = SHOTS) -> tuple[list[np.ndarray], Truth]:
    """The clip's frames as RGB uint8 and its truth: shot 1 pans and pushes in over the photo while the
    ball rolls across; shot 2 (a hard cut) is the photo mirrored, closer, cooler, turning slowly."""
    photo = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB).astype(np.float32)
    width, height = size
    scale = 270 / height  # photo pixels per frame pixel at the 480x270 framing
    truth, out = Truth(size, cut=shots[0]), []
    first, second = shots
    for t in range(first + second):
        if t < first:
            s = t / max(first - 1, 1)
            cam = _camera(scale * (1.05 - 0.25 * s), 0.0, (250 + 110 * s, 215 - 25 * s), size)
            picture = photo
        else:
            s = (t - first) / max(second - 1, 1)
            cam = _camera(scale * (0.55 + 0.1 * s), -3 + 8 * s, (340, 190), size)
            picture = np.clip(photo[:, ::-1] * np.array([0.8, 0.95, 1.15]) - 12, 0, 255)
        # Rendered at twice the size and averaged down, as a lens and a sensor would: no aliasing shimmer.
        fine = cam @ np.array([[0.5, 0, -0.25], [0, 0.5, -0.25], [0, 0, 1]])
        frame = cv2.warpAffine(picture, fine, (2 * width, 2 * height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)  # fmt: skip
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        truth.cameras.append(cam)
        position = None
        if ball and t < first:
            s = (t - 10) / 90  # in from the left at frame 10, out on the right by frame 100
            if -0.2 < s < 1.2:
                radius = 0.13 * height
                position = (-radius + s * (width + 2 * radius), height * (0.62 - 0.18 * math.sin(math.pi * s)), radius)
                _ball(frame, *position, spin=-s * 6)
        truth.balls.append(position)
        out.append(np.clip(frame, 0, 255).round().astype(np.uint8))
    return out, truth


def sound(seconds: float, cut: float) -> np.ndarray:
    """A stereo pad: an A minor chord pulsing at 100 BPM, then after the cut an F major one, softer."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    first = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63))
    second = sum(np.sin(2 * np.pi * f * t) for f in (174.61, 220.0, 261.63))
    pulse = 0.6 + 0.4 * np.exp(-((t * 100 / 60) % 1) * 4)
    mono = np.where(t < cut, first * pulse, 0.7 * second) / 3
    pan = 0.5 + 0.3 * np.sin(2 * np.pi * t / seconds)
    stereo = np.stack([mono * (1 - pan), mono * pan], 1) * 0.9
    fade = np.clip(np.minimum(t / 0.05, (seconds - t) / 0.3), 0, 1)[:, None]
    return (stereo * fade).astype(np.float32)


def write_clip(path: Path, size: tuple[int, int] = (480, 270), ball: bool = True, crf: int = 23, with_sound: bool = True) -> Truth:
    """The clip as H.264 (BT.709, 30000/1001 fps) with its AAC stereo sound: a few hundred KB at 480x270."""
    from zoomdream.io import ffmpeg

    pictures, truth = frames(size, ball)
    with tempfile.TemporaryDirectory() as scratch:
        audio = Path(scratch) / "sound.f32"
        seconds = len(pictures) * 1001 / 30000
        sound(seconds, truth.cut * 1001 / 30000).tofile(audio)
        sound_in = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "2", "-i", str(audio)] if with_sound else []
        args = [ffmpeg.exe(), "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}",
                "-r", RATE, "-i", "-", *sound_in, "-vf", ffmpeg.BT709, "-c:v", "libx264", "-preset", "slow",
                "-crf", str(crf), "-pix_fmt", "yuv420p", *(["-c:a", "aac", "-b:a", "96k"] if with_sound else []),
                "-movflags", "+faststart", str(path)]  # fmt: skip
        subprocess.run(args, input=b"".join(p.tobytes() for p in pictures), check=True)
    return truth


# -- renders over the clip -----------------------------------------------------------------------

LOOK_SIZE = (320, 180)
LOOK_RECIPE = {  # the quickstart's dream over the clip
    "seed": 7, "model": {"name": "inception_v3_tf"},
    "dream": {"objective": [{"layer": "mixed_3"}], "steps": 3, "step_size": 0.015, "octaves": 2},
}  # fmt: skip


def render_clip(clip: Path, folder: Path, frames: int | None = None, **overrides: Any) -> Path:
    """The look recipe over ``clip`` into ``folder`` with 16-bit PNG frames; ``overrides`` as load_config keywords."""
    import zoomdream

    recipe = {**LOOK_RECIPE, "name": "footage-bench", "video": {"file": str(clip)}}
    if frames is not None:
        recipe["frames"] = frames
    config = zoomdream.load_config(recipe, output__dir=str(folder), output__frames={"format": "png", "bit_depth": 16},
                                   output__checkpoint_every=10_000, **overrides)  # fmt: skip
    zoomdream.render(config)
    return folder


def read_pngs(folder: Path, indices: Sequence[int]) -> np.ndarray:
    """Frames of a render's 16-bit PNGs as float32 (n, H, W, 3) in [0, 1]."""
    return np.stack([cv2.cvtColor(cv2.imread(str(folder / "frames" / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
                     for i in indices]).astype(np.float32) / 65535  # fmt: skip


def strength(folder: Path, indices: Sequence[int]) -> float:
    """The mean of the look recipe's own objective over the given frames (as strength.py scores it)."""
    import torch

    from strength import strength_of
    from zoomdream.dream import objectives
    from zoomdream.engine.renderer import Renderer
    import zoomdream

    config = zoomdream.load_config(folder / "config.yaml", output__dir=str(folder))
    renderer = Renderer(config.model_copy(update={"video": None}))  # the network and objective, not the clip
    objective = objectives.combine(renderer.terms[0], renderer.planners[0].at(0).weights)
    pixels = torch.from_numpy(read_pngs(folder, indices)).permute(0, 3, 1, 2).contiguous()
    return statistics.fmean(strength_of(renderer.net, objective, pixels[i : i + 8]) for i in range(0, len(pixels), 8))


def boil(folder: Path) -> float:
    """The median of the render's boil curve (measured along the clip's flow, as ``zoomdream look`` does)."""
    curve = next(iter(json.loads((folder / "render.json").read_text())["look"].values()))["boil"]
    return statistics.median(x for x in curve if x is not None)


def look(frames: int, carries: Sequence[float], overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Boil and strength over the clip at each carry (the first is the baseline), the cut, and the
    trail behind the ball (against carry 0, when it is the first); ``overrides`` as --set strings."""
    from zoomdream.config.loading import parse_set
    from zoomdream.motion import flow as flows

    scratch = Path(tempfile.mkdtemp(prefix="zoomdream-footage-"))
    try:
        clip = scratch / "clip.mp4"
        truth = write_clip(clip, LOOK_SIZE)
        source = [frame for frame in frames_of(clip)]
        total = frames or len(source)
        picks = list(range(2, total, 3))
        rows: dict[str, Any] = {}
        for carry in carries:
            start = time.perf_counter()
            extra = {key.replace(".", "__"): value for key, value in map(parse_set, overrides)}
            folder = render_clip(clip, scratch / f"carry-{carry:g}", total, video__carry=carry, **extra)
            rows[f"carry {carry:g}"] = {"boil": boil(folder), "strength": strength(folder, picks),
                                        "seconds": time.perf_counter() - start}  # fmt: skip
        base = rows[f"carry {carries[0]:g}"]
        for row in rows.values():
            row["boil_vs_carry0"], row["strength_vs_carry0"] = row["boil"] / base["boil"], row["strength"] / base["strength"]
        default = scratch / f"carry-{carries[-1]:g}"
        out = read_pngs(default, range(total))
        clip_frames = np.stack(source[:total]).astype(np.float32) / 255
        if truth.cut < total:
            own = float(np.abs(out[truth.cut] - clip_frames[truth.cut]).mean())
            previous = float(np.abs(out[truth.cut] - out[truth.cut - 1]).mean())
            rows["cut"] = {"frame": truth.cut, "to_own_source": own, "to_previous_output": previous, "ok": own < previous}
        if carries[0] != 0:
            return rows
        fresh = read_pngs(scratch / f"carry-{carries[0]:g}", range(total))
        band_trust, band_layer, band_fresh, ground_layer, ground_fresh = [], [], [], [], []
        for t in range(4, min(total, truth.cut)):
            if truth.balls[t] is None or truth.balls[t - 1] is None:
                continue
            band = (truth.ball_mask(t - 1) | truth.ball_mask(t - 2) | truth.ball_mask(t - 3)) & ~truth.ball_mask(t, 1.5)
            ground = ~truth.ball_mask(t, 12) & ~truth.ball_mask(t - 6, 12)
            if band.sum() < 20:
                continue
            # Ground the ball uncovered just now: what of it is carried from where the ball was is a trail.
            left = truth.ball_mask(t - 1) & ~truth.ball_mask(t, 1.5)
            if not left.any():  # the ball stood still (or just came in): nothing uncovered this frame
                continue
            flow = flows.estimate(source[t - 1], source[t])
            ys, xs = np.nonzero(left)
            came = (xs + 0.5 + flow.backward[ys, xs, 0], ys + 0.5 + flow.backward[ys, xs, 1])
            x, y, r = truth.balls[t - 1]
            from_ball = (came[0] - x) ** 2 + (came[1] - y) ** 2 < (r - 0.5) ** 2
            band_trust.append(float((flow.trust[ys, xs] * from_ball).mean()))
            layer, layer0 = np.abs(out[t] - clip_frames[t]).mean(-1), np.abs(fresh[t] - clip_frames[t]).mean(-1)
            band_layer.append(float(layer[band].mean()))
            band_fresh.append(float(layer0[band].mean()))
            ground_layer.append(float(layer[ground].mean()))
            ground_fresh.append(float(layer0[ground].mean()))
        if band_trust:
            rows["trail"] = {
                "frames": len(band_trust), "uncovered_carried_from_ball": statistics.fmean(band_trust),
                "dream_in_band_vs_carry0": statistics.fmean(band_layer) / statistics.fmean(band_fresh),
                "dream_on_ground_vs_carry0": statistics.fmean(ground_layer) / statistics.fmean(ground_fresh),
            }  # fmt: skip
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def flow_speed(sizes: Sequence[tuple[int, int]], pairs: int, dream_frames: int) -> dict[str, Any]:
    """DIS both ways and the check per frame at each size, its error against the known camera, and its
    share of a footage render's frame at that size (the look recipe, ``dream_frames`` frames)."""
    from zoomdream.motion import flow as flows

    rows: dict[str, Any] = {}
    for size in sizes:
        pictures, truth = frames(size, ball=False, shots=(pairs + 1, 0))
        dis, spent, cpu, errors = flows._dis(), [], [], []
        width, height = size
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
        for t in range(1, pairs + 1):
            start, used = time.perf_counter(), time.process_time()
            flow = flows.estimate(pictures[t - 1], pictures[t], dis)
            spent.append(time.perf_counter() - start)
            cpu.append(time.process_time() - used)  # all threads: the work, whatever else runs
            # where each pixel of frame t was in frame t-1: photo point of t, back through camera t-1
            now, before = truth.cameras[t], np.vstack([truth.cameras[t - 1], [0, 0, 1]])
            photo = now[:, :2] @ np.stack([xs.ravel(), ys.ravel()]) + now[:, 2:]
            was = (np.linalg.inv(before) @ np.vstack([photo, np.ones(photo.shape[1])]))[:2].T.reshape(height, width, 2)
            true = was - np.stack([xs, ys], -1)
            trusted = flow.trust > 0
            errors.append(float(np.linalg.norm(flow.backward - true, axis=-1)[trusted].mean()))
        row = {"flow_ms": 1e3 * statistics.median(spent), "flow_cpu_ms": 1e3 * statistics.median(cpu), "end_point_error_px": statistics.fmean(errors),
               "trusted": statistics.fmean(flows.estimate(pictures[t - 1], pictures[t], dis).share for t in (1, pairs))}  # fmt: skip
        if dream_frames:
            row.update(frame_share(size, dream_frames))
        rows[f"{width}x{height}"] = row
    return rows


def frame_share(size: tuple[int, int], count: int) -> dict[str, float]:
    """A footage render's seconds per frame at ``size`` (the look recipe, after its first frame) and the
    flow's part of them, measured inside the same render."""
    import torch

    import zoomdream
    from zoomdream.engine.renderer import Renderer

    with tempfile.TemporaryDirectory() as scratch:
        clip = Path(scratch) / "clip.mp4"
        write_clip(clip, size, ball=True, with_sound=False)
        config = zoomdream.load_config({**LOOK_RECIPE, "video": {"file": str(clip)}, "frames": count + 1})
        renderer = Renderer(config)
        frames = renderer.frames()
        with torch.no_grad():
            next(frames)  # frame 0: warms up, no flow
            renderer.source.flow_seconds = 0.0
            start = time.perf_counter()
            for _ in frames:
                pass
        seconds = (time.perf_counter() - start) / count
        flow = renderer.source.flow_seconds / count
    return {"frame_s": seconds, "flow_share": flow / seconds}


def speed(frames: int, rounds: int = 3) -> dict[str, Any]:
    """The quickstart recipe from noise and the same recipe over the shipped clip, alternately, the
    best of ``rounds`` each; the render loop's seconds (``RenderResult.seconds``: no model loading)."""
    import zoomdream

    quickstart = ROOT / "configs" / "quickstart.yaml"
    clip = ROOT / "configs" / "footage.mp4"
    times: dict[str, list[float]] = {"noise": [], "footage": []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(rounds):
            for name in times:
                extra = {"video": {"file": str(clip)}} if name == "footage" else {}
                config = zoomdream.load_config(quickstart, frames=frames, output__dir=f"{scratch}/{name}{round_}", **extra)
                times[name].append(zoomdream.render(config).seconds)
    best = {name: min(values) for name, values in times.items()}
    return {"frames": frames, **{f"{name}_s_per_frame": best[name] / frames for name in best},
            "footage_vs_noise": best["footage"] / best["noise"], "target": 1.3, "runs": times}  # fmt: skip


def sheet(folder: Path, picks: Sequence[int], out: Path, width: int = 320) -> None:
    """Source and dreamed frames side by side, one pair per row, numbered: the README's contact sheet."""
    from PIL import Image, ImageDraw, ImageFont

    import zoomdream
    from zoomdream.engine.renderer import Renderer

    config = zoomdream.load_config(folder / "config.yaml", output__dir=str(folder))
    source = Renderer(config.model_copy(update={"dream": config.dream.model_copy(update={"steps": 0})})).source
    pngs = sorted((folder / "frames").glob("*.png"))
    rows = []
    for t in picks:
        dreamed = Image.open(pngs[t]).convert("RGB")
        seen = source.picture(t)[0][0].permute(1, 2, 0).mul(255).round().byte().numpy()  # through the camera
        clip = Image.fromarray(seen)
        pair = [im.resize((width, round(width * im.height / im.width)), Image.Resampling.LANCZOS) for im in (clip, dreamed)]
        rows.append(pair)
    h, gap = rows[0][0].height, 4
    canvas = Image.new("RGB", (2 * width + 3 * gap, len(rows) * (h + gap) + gap + 22), (24, 24, 24))
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default(size=15)
    draw.text((gap + 4, 3), "the clip", fill="white", font=font)
    draw.text((2 * gap + width + 4, 3), "dreamed", fill="white", font=font)
    for i, (t, pair) in enumerate(zip(picks, rows)):
        y = 22 + gap + i * (h + gap)
        for j, im in enumerate(pair):
            canvas.paste(im, (gap + j * (width + gap), y))
        box = draw.textbbox((gap + 4, y + 3), str(t), font=font)
        draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill="black")
        draw.text((gap + 4, y + 3), str(t), fill="white", font=font)
    canvas.save(out, quality=88)


def frames_of(clip: Path) -> list[np.ndarray]:
    from zoomdream.io import ffmpeg

    probe = ffmpeg.probe_video(clip)
    return list(ffmpeg.stream_video(clip, probe.size, f"scale={probe.size[0]}:{probe.size[1]}"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    clip = sub.add_parser("clip", help="write the clip")
    clip.add_argument("path", type=Path)
    clip.add_argument("--size", type=int, nargs=2, default=(480, 270))
    measures = sub.add_parser("look", help="boil and strength by carry, the cut, the trail")
    measures.add_argument("--frames", type=int, default=None, help="frames rendered (default: the whole clip)")
    measures.add_argument("--carry", type=float, nargs="+", default=[0.0, 0.8], help="carries; the first is the baseline")
    measures.add_argument("--set", action="append", default=[], help="a recipe override for every render, e.g. dream.calm=0.8")
    flow = sub.add_parser("flow", help="DIS per frame, its error and its share of a frame")
    flow.add_argument("--pairs", type=int, default=6)
    flow.add_argument("--dream-frames", type=int, default=2, help="footage frames rendered per size for the share (0: none)")
    flow.add_argument("--sizes", nargs="+", default=["960x540", "1920x1080"])
    fast = sub.add_parser("speed", help="footage against noise at the quickstart's settings")
    fast.add_argument("--frames", type=int, default=24)
    fast.add_argument("--rounds", type=int, default=3, help="renders of each, alternating; the best counts")
    pairs = sub.add_parser("sheet", help="source and dreamed frames side by side from a finished render")
    pairs.add_argument("folder", type=Path)
    pairs.add_argument("out", type=Path)
    pairs.add_argument("--frames", type=int, nargs="+", default=[30, 60, 118, 119, 120, 121, 199])
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.what == "clip":
        write_clip(args.path, tuple(args.size))
        print(f"wrote {args.path} ({args.path.stat().st_size / 1e3:.0f} KB)")
    elif args.what == "look":
        print(json.dumps(look(args.frames, args.carry, args.set), indent=1))
    elif args.what == "flow":
        sizes = [tuple(int(side) for side in size.split("x")) for size in args.sizes]
        print(json.dumps(flow_speed(sizes, args.pairs, args.dream_frames), indent=1))  # type: ignore[arg-type]
    elif args.what == "sheet":
        sheet(args.folder, args.frames, args.out)
    else:
        print(json.dumps(speed(args.frames, args.rounds), indent=1))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
