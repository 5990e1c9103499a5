"""``zoomdream look``: measure a finished render from its folder and draw what the numbers say.

The frames come from ``frames/*.png`` when the render kept them, else from the video; the
camera move of each frame (and over footage, the clip's optical flow) is rebuilt from the
render's own ``config.yaml``, so boil compares each frame with the one before it carried along
the same path the renderer used. Drawing is
plain Pillow (already a dependency): six small line charts do not need a plotting library.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from statistics import median
from typing import Iterator, Mapping

import imageio.v3 as iio
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..engine.plan import Planner, camera_path, sound_features
from ..errors import ZoomdreamError
from ..io import ffmpeg
from ..io.atomic import write_atomic
from ..run.folder import Lane, RenderFolder
from ..sources.video import footage
from . import figures as look
from .recorder import LookRecorder
from .seam import SeamMeter


class LookError(ZoomdreamError):
    """A render folder that cannot be looked at; one line naming the file."""


def lanes_of(folder: Path) -> list[Lane]:
    """Every lane of the render in ``folder`` (a render folder, or one variant's folder inside it)."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise LookError(f"{folder}: no such folder; give the folder a render wrote (it holds config.yaml)")
    render = RenderFolder(folder)
    if not render.recipe.exists() and RenderFolder(folder.parent).recipe.exists():
        return [lane for lane in lanes_of(folder.parent) if lane.folder == folder]
    if not render.recipe.exists():
        raise LookError(f"{render.recipe}: not found; give the folder a render wrote")
    return render.lanes()


def read_frames(lane: Lane) -> tuple[str, Iterator[np.ndarray]]:
    """Where the frames come from, and the frames as float32 (H, W, 3) in [0, 1], in order."""
    pngs = sorted(lane.frames.glob("*.png"))
    if pngs:
        return "frames/*.png", (_unit(iio.imread(p)[..., :3]) for p in pngs)
    video = lane.video
    if video and video.exists():
        return video.name, (_unit(frame) for frame in ffmpeg.decode_video(video))
    missing = video.name if video else "video"
    raise LookError(f"{lane.folder}: no frames/*.png and no {missing}; render with output.frames or output.video on")


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / np.iinfo(image.dtype).max


def spaced(total: int, count: int) -> list[int]:
    """``count`` frame numbers evenly spread from the first frame to the last."""
    if total <= count:
        return list(range(total))
    return sorted({round(i * (total - 1) / max(count - 1, 1)) for i in range(count)})


def ticks(total: int, most: int = 6) -> list[int]:
    """Round frame numbers for a plot's axis: every 1, 2 or 5 times a power of ten frames."""
    step = next(m * 10**e for e in range(16) for m in (1, 2, 5) if (total - 1) // (m * 10**e) < most)
    return list(range(0, total, step))


def measure_lane(lane: Lane, sheet_frames: int) -> tuple[str, dict[str, list[float | None]], dict[int, np.ndarray], SeamMeter | None]:
    """The lane's curves, the frames picked for the contact sheet, and a loop's seam meter."""
    source, frames = read_frames(lane)
    picks = set(spaced(lane.config.frame_count, sheet_frames))
    planners = [Planner(lane.config, sound_features(lane.config))]
    camera = camera_path(planners, lane.config.size)
    clip = footage(lane.config, planners, camera)  # over footage, boil is measured along the clip's flow
    motion = clip.motion if clip else camera
    recorder, kept, previous = LookRecorder([lane.stem]), {}, None
    meter = SeamMeter.of(lane.config, motion)  # a loop: its seam
    try:
        with torch.no_grad():
            for t, image in enumerate(frames):
                frame = torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()
                recorder.measure(motion, t, frame[None], previous)
                if meter is not None:
                    meter.add(t, frame, image)
                if t in picks:
                    kept[t] = image
                previous = frame
    finally:
        if clip is not None:
            clip.close()  # the clip's decoder: measured, it is not needed again
    if not kept:
        raise LookError(f"{lane.folder}: {source} holds no frames")
    return source, recorder.curves()[lane.stem], kept, meter


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def plot(curves: look.Curves, path: Path, title: str = "") -> None:
    """One panel per curve over the frames, with its verdict and axis ranges; green: the luma band,
    grey: the early and late frames the trend verdicts compare."""
    judged, spans = {v.curve: v for v in look.verdicts(curves)}, look.spans(curves)
    names = [n for n in look.CURVES if any(x is not None for x in curves.get(n, []))]
    width, panel, left, top = 900, 150, 70, 40
    image = Image.new("RGB", (width, top + panel * len(names) + 30), "white")
    draw, font, small = ImageDraw.Draw(image), _font(15), _font(12)
    draw.text((left, 10), title, fill="black", font=font)
    n = max(len(v) for v in curves.values())
    for row, name in enumerate(names):
        y0 = top + row * panel + 22
        box = (left, y0, width - 20, y0 + panel - 50)
        values = curves[name]
        present = [x for x in values if x is not None]
        low, high = min(present), max(present)
        if name == "luma":
            low, high = min(low, look.LUMA_BAND[0]), max(high, look.LUMA_BAND[1])
        low, high = (low - 0.01, high + 0.01) if high - low < 0.02 else (low, high)

        def at(i: int, x: float) -> tuple[float, float]:
            return (box[0] + (box[2] - box[0]) * i / max(n - 1, 1), box[3] - (box[3] - box[1]) * (x - low) / (high - low))

        if name == "luma":
            draw.rectangle((box[0], at(0, look.LUMA_BAND[1])[1], box[2], at(0, look.LUMA_BAND[0])[1]), fill=(232, 245, 232))
        if name not in ("luma", "boil"):
            for frames in spans:
                draw.rectangle((at(frames[0], low)[0], box[1], at(frames[-1], low)[0], box[3]), fill=(236, 236, 236))
        draw.rectangle(box, outline="grey")
        verdict = judged[name]
        colour = (30, 110, 30) if verdict.word == "ok" else (200, 40, 20)
        draw.text((left, y0 - 19), f"{name} ({look.UNITS[name]})", fill="black", font=font)
        draw.text((width - 20, y0 - 19), f"{verdict.word}: {verdict.note}", fill=colour, font=small, anchor="ra")
        draw.text((left - 6, box[1]), f"{high:.3g}", fill="black", font=small, anchor="ra")
        draw.text((left - 6, box[3]), f"{low:.3g}", fill="black", font=small, anchor="rd")
        points = [at(i, x) for i, x in enumerate(values) if x is not None]
        if len(points) > 1:
            draw.line(points, fill=(20, 70, 180), width=2)
        else:
            draw.ellipse((points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2), fill=(20, 70, 180))
        for i in ticks(n):
            draw.text((at(i, low)[0], box[3] + 3), str(i), fill="black", font=small, anchor="ma")
    draw.text((width // 2, image.height - 4), "frame", fill="black", font=font, anchor="md")
    image.save(path)


def contact_sheet(frames: Mapping[int, np.ndarray], path: Path, columns: int = 4, thumb: int = 320) -> None:
    """The given frames (number -> (H, W, 3) in [0, 1]) in a grid, each labelled with its number."""
    first = next(iter(frames.values()))
    height, width = first.shape[:2]
    scale = min(1.0, thumb / width)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    rows = -(-len(frames) // columns)
    cols = min(columns, len(frames))
    gap = 4
    sheet = Image.new("RGB", (cols * (w + gap) + gap, rows * (h + gap) + gap), (24, 24, 24))
    draw, font = ImageDraw.Draw(sheet), _font(max(10, min(16, h // 6)))
    for k, (number, frame) in enumerate(sorted(frames.items())):
        x, y = gap + (k % columns) * (w + gap), gap + (k // columns) * (h + gap)
        picture = Image.fromarray(np.rint(np.clip(frame, 0, 1) * 255).astype(np.uint8))
        sheet.paste(picture.resize((w, h), Image.Resampling.LANCZOS), (x, y))
        label = f"{number}"
        box = draw.textbbox((x + 3, y + 3), label, font=font)
        draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill="black")
        draw.text((x + 3, y + 3), label, fill="white", font=font)
    sheet.save(path, quality=90)


def summary(name: str, source: str, curves: look.Curves) -> list[str]:
    """One screen: min / median / max and the verdict of each curve."""
    n = max(len(v) for v in curves.values())
    lines = [f"{name}: {n} frames from {source}", f"  {'curve':<11}{'min':>9}{'median':>9}{'max':>9}  verdict"]
    judged = {v.curve: v for v in look.verdicts(curves)}
    for curve in look.CURVES:
        values = [x for x in curves.get(curve, []) if x is not None]
        if values:
            verdict = judged[curve]
            figures = f"{min(values):9.4f}{median(values):9.4f}{max(values):9.4f}"
            lines.append(f"  {curve:<11}{figures}  {verdict.word}: {verdict.note}")
    return lines


def look_at(folder: Path, sheet_frames: int = 12) -> list[str]:
    """Measure every lane of a render, write look.png, sheet.jpg and look.json beside its frames; the summary lines."""
    lines = []
    for lane in lanes_of(Path(folder)):
        source, curves, kept, meter = measure_lane(lane, sheet_frames)
        plot(curves, lane.folder / "look.png", title=f"{lane.stem}: {source}")
        contact_sheet(kept, lane.folder / "sheet.jpg")
        record = {"source": source, "curves": curves, "verdicts": [asdict(v) for v in look.verdicts(curves)]}
        seam = meter.figures(curves) if meter else None
        if seam is not None and meter is not None:  # a loop: the wrap and the crossfade, and seam.jpg across it
            record["seam"], record["verdicts"] = asdict(seam), [*record["verdicts"], asdict(seam.verdict())]
            meter.draw(lane.folder / "seam.jpg")
        write_atomic(lane.folder / "look.json", json.dumps(record) + "\n")
        lines += [*summary(lane.stem, source, curves), *(seam.lines() if seam else []),
                  f"  wrote {lane.folder / 'look.png'}, sheet.jpg{', seam.jpg' if seam else ''}, look.json"]  # fmt: skip
    return lines

