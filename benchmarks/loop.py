"""Issue 14's targets for a seamless loop, measured: renders configs/loop.yaml at 320x180 (or
measures a render already made) and prints the seam, the crossfade and the warm-up figures.

    .venv/bin/python benchmarks/loop.py                                      # configs/loop.yaml at 320x180
    .venv/bin/python benchmarks/loop.py --name rotating --set motion.rotate=0.5
    .venv/bin/python benchmarks/loop.py --folder renders/bench-loop/loop     # measure only
    .venv/bin/python benchmarks/loop.py --settle 240                         # where the warm-up has settled

Targets (a benchmark, not a timed test):
- seam: the wrap's boil (frame 0 against the last frame carried by the move into frame 0) at
  most 1.25 x the loop's median boil;
- crossfade: no frame boiling above 1.5 x the median; contrast (std of luma) and edge energy
  (mean Sobel magnitude) of every crossfade frame at least 90 % of the loop's median (a plain
  dissolve of two dreams dips to about 71 %: measured here on the loop's own frames too);
- no warm-up in the loop: every frame's spectral centroid within ±25 % of the loop's median;
- the cost: the frames rendered beyond the loop (warm-up and crossfade) as a share of it.

It also plays the loop three times (the video concatenated by stream copy), measures that with
``zoomdream look`` (the boil at the two seams inside against its median) and draws seams.jpg: the
frames either side of both seams, in the order they play. The figures are measured on the PNG
frames (lossless), the three-times video on the recipe's codec.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zoomdream.api import render  # noqa: E402
from zoomdream.config import load_config  # noqa: E402
from zoomdream.io import ffmpeg  # noqa: E402
from zoomdream.look import seam as seams  # noqa: E402
from zoomdream.look.figures import luma  # noqa: E402
from zoomdream.look.report import look_at, read_frames  # noqa: E402
from zoomdream.run.folder import RenderFolder  # noqa: E402


def rendered(args: argparse.Namespace) -> Path:
    folder = Path(args.folder or ROOT / "renders" / "bench-loop" / args.name)
    if args.folder:
        return folder
    width, height = args.size.split("x")
    sets = [f"size=[{width}, {height}]", f"name={args.name}", f"output.dir={folder}", "output.frames={format: png, bit_depth: 8}"]
    config = load_config(args.config, [*sets, *args.set])
    began = time.perf_counter()
    render(config, overwrite=True)
    print(f"rendered {folder} in {time.perf_counter() - began:.0f} s", flush=True)
    return folder


def settle(args: argparse.Namespace, frames: int) -> None:
    """The recipe without its loop, from its first frame: where the boil and the spectral centroid
    settle (every half second's mean from there on within 5 % and 10 % of the median over the second
    half), which is what the default warm-up (loop.SETTLE before the crossfade) is chosen by."""
    width, height = args.size.split("x")
    folder = ROOT / "renders" / "bench-loop" / f"{args.name}-settle"
    sets = [f"size=[{width}, {height}]", f"output.dir={folder}", "loop=null", "duration=null", f"frames={frames}"]
    config = load_config(args.config, [*sets, *args.set])
    result = render(config, overwrite=True)
    curves = next(iter(json.loads((folder / "render.json").read_text())["look"].values()))
    for name, within in (("boil", 0.05), ("centroid", 0.10)):
        values = np.array([np.nan if v is None else v for v in curves[name]], dtype=float)
        middle = float(np.nanmedian(values[frames // 2 :]))
        rolling = np.convolve(np.nan_to_num(values, nan=middle), np.ones(12) / 12, mode="valid")  # half a second at 24 fps
        outside = np.nonzero(np.abs(rolling / middle - 1) > within)[0]
        since = int(outside[-1]) + 1 if len(outside) else 0  # every half second from here on is within
        print(f"  {name:<9} within {within:.0%} of its late median ({middle:.4f}) from frame "
              f"{since} ({since / config.fps:.1f} s at {config.fps:g} fps) on")  # fmt: skip
    print(f"  {frames} frames at {width}x{height} in {result.seconds:.0f} s; {folder}")


def codec_errors(frames: list[np.ndarray], folder: Path, fps: float) -> list[str]:
    """What each VJ codec does to the loop's frames: the mean absolute error against the PNGs, and
    how much of it changes from frame to frame (the boil a codec adds: it is what a wall shows)."""
    from zoomdream.io.codecs import CODECS
    from zoomdream.io.video import VideoSink

    lines, height, width = [], *frames[0].shape[:2]
    for codec in ("hap", "hap_q", "libx264"):
        path = folder / f"codec-{codec}{CODECS[codec].extension}"
        with VideoSink(path, (width, height), fps=fps, codec=codec) as sink:
            for t, frame in enumerate(frames):
                sink.write(t, frame)
        error = [np.asarray(d[:height, :width], np.float32) / 255 - f for d, f in zip(ffmpeg.decode_video(path), frames)]
        flicker = statistics.fmean(float(np.abs(b - a).mean()) for a, b in zip(error, error[1:]))
        lines.append(f"  {codec:<8} error {statistics.fmean(float(np.abs(e).mean()) for e in error):.4f}, "
                     f"changing by {flicker:.4f} a frame, {path.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        path.unlink()
    return lines


def dissolve(frames: list[np.ndarray], pairs: int = 8) -> tuple[float, float]:
    """Contrast and edge energy of 50/50 mixes of frames half a loop apart, against the loop's medians."""
    tensors = [torch.from_numpy(f).permute(2, 0, 1)[None] for f in frames]
    contrast = [float(luma(t).flatten(1).std(1)) for t in tensors]
    detail = [float(seams.edges(t)) for t in tensors]
    n, mixes = len(tensors), []
    for i in range(pairs):
        a, b = tensors[i * n // (2 * pairs)], tensors[i * n // (2 * pairs) + n // 2]
        mixed = 0.5 * a + 0.5 * b
        mixes.append((float(luma(mixed).flatten(1).std(1)), float(seams.edges(mixed))))
    return (statistics.mean(m[0] for m in mixes) / statistics.median(contrast),
            statistics.mean(m[1] for m in mixes) / statistics.median(detail))  # fmt: skip


def constant_motion(recipe: dict) -> bool:
    return all(isinstance(v, (int, float)) for k, v in recipe["motion"].items() if k not in ("per", "interpolation", "dream_every", "center"))


def three_times(folder: Path) -> tuple[list[str], Path | None]:
    """The loop's video joined to itself three times, looked at as one render; (lines, its folder)."""
    lane = RenderFolder(folder).lanes()[0]
    recipe = yaml.safe_load(lane.config.to_yaml())
    if not constant_motion(recipe) or recipe["loop"].get("periodic"):
        return ["  (played three times: skipped, the camera's schedules are not constant)"], None
    triple = folder.parent / f"{folder.name}-x3"
    triple.mkdir(exist_ok=True)
    video = lane.video
    assert video is not None
    listing = triple / "three.txt"
    listing.write_text(f"file '{video.resolve()}'\n" * 3)
    joined = triple / f"{lane.stem}{video.suffix}"
    done = ffmpeg.run(ffmpeg.concat_args(listing, joined))
    if done.returncode != 0:
        raise SystemExit(f"concat failed: {ffmpeg.cause(done.stderr)}")
    n = lane.config.frame_count
    recipe.update({"name": lane.stem, "loop": None, "frames": 3 * n, "duration": None})
    recipe["output"].update({"dir": str(triple), "frames": None})
    (triple / "config.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    lines = look_at(triple, 12)
    boil = json.loads((triple / "look.json").read_text())["curves"]["boil"]
    middle = statistics.median(b for b in boil if b is not None)
    strip: dict[int, np.ndarray] = {}
    _, frames = read_frames(RenderFolder(triple).lanes()[0])
    for t, frame in enumerate(frames):
        if any(abs(t - s) <= 2 or t == s - 3 for s in (n, 2 * n)):
            strip[t] = frame
    draw_seams(strip, n, triple / "seams.jpg")
    found = [f"  played three times ({triple}): boil at the seams {boil[n] / middle:.2f}x and {boil[2 * n] / middle:.2f}x "
             f"the median ({middle:.4f}); look: {lines[-1].strip()}, seams.jpg"]  # fmt: skip
    return found + [f"  {line}" for line in lines if "boil" in line or "centroid" in line], triple


def draw_seams(strip: dict[int, np.ndarray], n: int, path: Path, thumb: int = 200) -> None:
    """Two rows: the six frames around each seam of the loop played three times, the seam marked."""
    rows = [[t for t in sorted(strip) if abs(t - s) <= 3 and t - s < 3] for s in (n, 2 * n)]
    h0, w0 = next(iter(strip.values())).shape[:2]
    w, h = thumb, round(h0 * thumb / w0)
    gap = 4
    sheet = Image.new("RGB", (6 * (w + gap) + gap + 8, 2 * (h + gap + 16) + gap), (24, 24, 24))
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default(size=12)
    for r, (row, seam) in enumerate(zip(rows, (n, 2 * n))):
        x, y = gap, gap + r * (h + gap + 16)
        for t in row:
            if t == seam:
                draw.rectangle((x, y, x + 4, y + h), fill=(200, 40, 20))
                x += 8
            picture = Image.fromarray(np.rint(np.clip(strip[t], 0, 1) * 255).astype(np.uint8)).resize((w, h), Image.Resampling.LANCZOS)
            sheet.paste(picture, (x, y))
            draw.text((x + 2, y + h + 2), f"{t} (loop frame {t % n})", fill="white", font=font)
            x += w + gap
    sheet.save(path, quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "loop.yaml"))
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--name", default="loop")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--folder", help="measure this finished render instead of rendering")
    parser.add_argument("--settle", type=int, metavar="FRAMES", help="render the recipe without its loop and print where it settles")
    args = parser.parse_args()
    if args.settle:
        return settle(args, args.settle)
    load = os.getloadavg()
    folder = rendered(args)
    lines = look_at(folder, 12)
    record = json.loads((folder / "look.json").read_text())
    seam, timing = record["seam"], record["seam"]["timing"]
    made = json.loads((folder / "render.json").read_text())
    length, warmup, fade = timing[:3]
    pngs = sorted((folder / "frames").glob("*.png"))
    frames = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255 for p in pngs]
    mixed = dissolve(frames)
    low, high = seam["centroid"]
    targets = [
        ("seam: wrap boil / median boil", seam["seam"], "<= 1.25", seam["seam"] <= seams.SEAM),
        ("crossfade: highest boil / median", seam["fade_boil"], "<= 1.5", seam["fade_boil"] <= seams.FADE_BOIL),
        ("crossfade: lowest contrast / median", seam["fade_contrast"], ">= 0.90", seam["fade_contrast"] >= seams.FADE_KEEPS),
        ("crossfade: lowest edge energy / median", seam["fade_edges"], ">= 0.90", seam["fade_edges"] >= seams.FADE_KEEPS),
        ("centroid: lowest / median", low, ">= 0.75", low >= 1 - seams.CENTROID),
        ("centroid: highest / median", high, "<= 1.25", high <= 1 + seams.CENTROID),
    ]
    print(f"\n{folder}: {length} frames at {made['size'][0]}x{made['size'][1]}, {warmup} warm-up, crossfade {fade}; "
          f"rendered in {made['seconds']:.0f} s ({made['seconds'] / (length + warmup + fade):.2f} s per rendered frame) "
          f"on {os.cpu_count()} CPU cores, torch {torch.get_num_threads()} threads, load average {load[0]:.1f} at the start")  # fmt: skip
    print(f"  {'target':<40}{'figure':>8}  {'wanted':<8} met")
    for name, figure, wanted, met in targets:
        print(f"  {name:<40}{figure:8.3f}  {wanted:<8} {'yes' if met else 'NO'}")
    print(f"  {'extra frames rendered / loop':<40}{(warmup + fade) / length:8.3f}  (warm-up {warmup} + crossfade's past {fade})")
    print(f"  {'wrap boil, median boil':<40}{seam['wrap_boil']:8.4f}  {seam['median_boil']:.4f}")
    print(f"  plain dissolve of two of its dreams (reference): contrast {mixed[0]:.0%}, edge energy {mixed[1]:.0%} of the median")
    print(*[line for line in lines if line.startswith("  ")], sep="\n")
    print("  what the VJ codecs add (mean absolute error against the PNG frames, 0-1):")
    print(*codec_errors(frames, folder, made["fps"]), sep="\n")
    triple_lines, _ = three_times(folder)
    print(*triple_lines, sep="\n")
    print(f"  seam.jpg, sheet.jpg, look.png in {folder}; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
