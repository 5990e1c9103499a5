"""The video codecs zoomdream writes: one registry entry per codec, as plain data plus its checks.

A codec's entry says everything that differs between codecs (container, encoder arguments,
pixel format, whether ``crf`` applies, the sound codec of its container, the sizes it takes),
so the writer, the join and the output folder never branch on a codec's name. The config takes
the codec names from here; ``check`` asks ffmpeg whether it has the encoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SinkError


@dataclass(frozen=True)
class Codec:
    name: str
    encoder: str  # ffmpeg's encoder name, as `ffmpeg -encoders` lists it
    extension: str  # the container: .mp4 or .mov
    args: tuple[str, ...]  # encoder arguments besides -pix_fmt and -crf
    pix_fmt: str
    bit_depth: int  # bits per sample the codec keeps: > 8 asks the renderer for float frames
    crf: bool  # whether output.video.crf sets its quality; else its profile fixes the quality
    audio: tuple[str, ...]  # how sound is encoded in this container
    multiple: int = 2  # width and height are padded (last row and column repeated) up to a multiple of this
    min_size: tuple[int, int] = (1, 1)
    env: dict[str, str] = field(default_factory=dict)  # quiets encoders that log past -loglevel
    # A format that cannot be joined by stream copy (GIF, WebP): segments are written in this
    # (lossless) codec, and ``finish`` (filters and the encoder) makes the output from them when
    # they are joined; the output's ``audio`` is then empty: such formats have no sound.
    segments: "Codec | None" = None
    finish: tuple[str, ...] = ()

    @property
    def part(self) -> "Codec":
        """The codec the segments are written in."""
        return self.segments or self

    @property
    def join(self) -> tuple[str, ...]:
        """How the joined segments become the output: a stream copy, or the finishing encode."""
        return self.finish if self.segments else ("-c:v", "copy")

    def padded(self, size: tuple[int, int]) -> tuple[int, int]:
        """The size the encoder gets: at most ``multiple - 1`` pixels larger, never rescaled."""
        return tuple(side + (-side) % self.multiple for side in size)  # type: ignore[return-value]

    def encoder_args(self, crf: int) -> list[str]:
        return ["-c:v", self.encoder, *self.args, "-pix_fmt", self.pix_fmt, *(["-crf", str(crf)] if self.crf else []),
                "-movflags", "+faststart"]  # fmt: skip

    def check(self, size: tuple[int, int]) -> "Codec":
        """This codec, or a one-line error before any frame is made."""
        from . import ffmpeg  # asks the binary once per process

        missing = next((c.encoder for c in (self, self.part) if c.encoder not in ffmpeg.encoders()), None)
        if missing:
            others = [name for name, c in CODECS.items() if c.encoder in ffmpeg.encoders()]
            raise SinkError(
                f"output.video.codec: {self.name} needs ffmpeg's {missing} encoder, which "
                f"{ffmpeg.exe()} lacks; use {' or '.join(others) or 'output.frames'} instead"
            )
        if size[0] < self.min_size[0] or size[1] < self.min_size[1]:
            raise SinkError(
                f"output.video.codec: {self.name} needs frames of at least {self.min_size[0]}x{self.min_size[1]} "
                f"(size is {size[0]}x{size[1]}); use prores instead"
            )
        return self


AAC = ("-c:a", "aac", "-b:a", "256k")
PCM = ("-c:a", "pcm_s24le")

def capped(side: int) -> str:
    """A scale filter that fits the longer side into ``side`` pixels (never enlarging), keeping the shape."""
    return (f"scale='if(gte(iw,ih),min({side},iw),-1)':'if(gte(iw,ih),-1,min({side},ih))':flags=lanczos")


GIF_SIDE = 640  # 256 colours and no inter-frame compression: larger GIFs are tens of megabytes a second
WEBP_SIDE = 1280
# Lossless RGB segments for the formats made at the end; not a codec of its own in the config.
LOSSLESS = Codec("ffv1", "ffv1", ".mkv", ("-level", "3", "-g", "1"), "bgr0", 8, False, (), multiple=1)

# No B-frames: a checkpoint can close a segment after one or two frames, and a segment that
# short, with frames held back for reordering, joins with wrong sample durations (editors and
# constant-rate decoders then repeat frames; one frame + 95 read back as 98 frames at 23.51 fps).
# Costs about 7 % in file size at crf 18 on dream footage.
_ENTRIES = [
    Codec("libx264", "libx264", ".mp4", ("-preset", "medium", "-bf", "0"), "yuv420p", 8, True, AAC),
    Codec("libx265", "libx265", ".mp4", ("-tag:v", "hvc1", "-x265-params", "log-level=error:bframes=0"), "yuv420p", 8, True, AAC),
    Codec("libsvtav1", "libsvtav1", ".mp4", ("-preset", "8"), "yuv420p", 8, True, AAC, env={"SVT_LOG": "1"}),
    Codec("prores", "prores_ks", ".mov", ("-profile:v", "4444", "-vendor", "apl0"), "yuv444p10le", 10, False, PCM),
    Codec("dnxhr", "dnxhd", ".mov", ("-profile:v", "dnxhr_hqx"), "yuv422p10le", 10, False, PCM, min_size=(256, 120)),
    # HAP: DXT textures the GPU decodes, what VJ software plays at 4K; DXT works on 4x4 blocks.
    Codec("hap", "hap", ".mov", ("-format", "hap"), "rgba", 8, False, PCM, multiple=4),
    Codec("hap_q", "hap", ".mov", ("-format", "hap_q"), "rgba", 8, False, PCM, multiple=4),
    # For sharing loops: made at the end from lossless segments, capped in size, looping forever.
    Codec("gif", "gif", ".gif", (), "pal8", 8, False, (), multiple=1, segments=LOSSLESS, finish=(
        "-filter_complex", f"[0:v]{capped(GIF_SIDE)},split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=sierra2_4a",
        "-c:v", "gif", "-loop", "0")),
    Codec("webp", "libwebp_anim", ".webp", (), "yuv420p", 8, False, (), multiple=1, segments=LOSSLESS, finish=(
        "-vf", capped(WEBP_SIDE), "-c:v", "libwebp_anim", "-quality", "85", "-pix_fmt", "yuv420p", "-loop", "0")),
]
CODECS: dict[str, Codec] = {codec.name: codec for codec in _ENTRIES}

EXTENSIONS = tuple(dict.fromkeys(codec.extension for codec in CODECS.values()))


def check_codec(name: str, size: tuple[int, int]) -> Codec:
    """The codec for ``output.video.codec``, checked for this size and this ffmpeg."""
    codec = CODECS.get(name)
    if codec is None:
        raise SinkError(f"output.video.codec: unknown codec {name!r}; use one of {', '.join(CODECS)}")
    return codec.check(size)
