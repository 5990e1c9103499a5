"""The video codecs zoomdream writes: one registry entry per codec, as plain data.

A codec's entry says everything that differs between codecs (container, encoder arguments,
pixel format, whether ``crf`` applies, the sound codec of its container), so the writer, the
join and the output folder never branch on a codec's name. Plain data, so the config can take
the codec names from here; sinks.check_codec asks ffmpeg whether it has the encoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Codec:
    encoder: str  # ffmpeg's encoder name, as `ffmpeg -encoders` lists it
    extension: str  # the container: .mp4 or .mov
    args: tuple[str, ...]  # encoder arguments besides -pix_fmt and -crf
    pix_fmt: str
    bit_depth: int  # bits per sample the codec keeps: > 8 asks the renderer for float frames
    crf: bool  # whether output.video.crf sets its quality; else its profile fixes the quality
    audio: tuple[str, ...]  # how sound is encoded in this container
    min_size: tuple[int, int] = (1, 1)
    env: dict[str, str] = field(default_factory=dict)  # quiets encoders that log past -loglevel


AAC = ("-c:a", "aac", "-b:a", "256k")
PCM = ("-c:a", "pcm_s24le")

# No B-frames: a checkpoint can close a segment after one or two frames, and a segment that
# short, with frames held back for reordering, joins with wrong sample durations (editors and
# constant-rate decoders then repeat frames; one frame + 95 read back as 98 frames at 23.51 fps).
# Costs about 7 % in file size at crf 18 on dream footage.
CODECS: dict[str, Codec] = {
    "libx264": Codec("libx264", ".mp4", ("-preset", "medium", "-bf", "0"), "yuv420p", 8, True, AAC),
    "libx265": Codec(
        "libx265", ".mp4", ("-tag:v", "hvc1", "-x265-params", "log-level=error:bframes=0"), "yuv420p", 8, True, AAC
    ),
    "libsvtav1": Codec("libsvtav1", ".mp4", ("-preset", "8"), "yuv420p", 8, True, AAC, env={"SVT_LOG": "1"}),
    "prores": Codec(
        "prores_ks", ".mov", ("-profile:v", "4444", "-vendor", "apl0"), "yuv444p10le", 10, False, PCM
    ),
    "dnxhr": Codec("dnxhd", ".mov", ("-profile:v", "dnxhr_hqx"), "yuv422p10le", 10, False, PCM, min_size=(256, 120)),
}

EXTENSIONS = tuple(dict.fromkeys(codec.extension for codec in CODECS.values()))
