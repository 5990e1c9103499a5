import errno
import os
import subprocess
import threading
import wave

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

from helpers import stop_at
from zoomdream.engine.renderer import Renderer
from zoomdream.io import ffmpeg
from zoomdream.io.atomic import write_atomic
from zoomdream.io.codecs import CODECS, check_codec
from zoomdream.io.errors import SinkError
from zoomdream.io.frames import FrameSink
from zoomdream.io.segments import SegmentedVideo
from zoomdream.io.sink import Sink
from zoomdream.io.video import VideoSink
from zoomdream.io.writer import WriterThread


def gradient(w: int, h: int, shift: float = 0.0) -> np.ndarray:
    """A float32 (h, w, 3) frame with distinct values per pixel and channel."""
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    c = np.array([0.0, 0.3, 0.6], np.float32)
    return ((x + y + c + shift) % 1.0).astype(np.float32)


def probe(path):
    """(frame count, (width, height), fps, first frame) as ffmpeg reads the file back."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = list(reader)
    w, h = meta["size"]
    return len(frames), (w, h), meta["fps"], np.frombuffer(frames[0], np.uint8).reshape(h, w, 3)


def leftovers(folder):
    return sorted(p.name for p in folder.rglob(".*"))


@pytest.mark.parametrize("size, encoded", [((64, 48), (64, 48)), ((65, 49), (66, 50))])
def test_video_reads_back_with_count_size_fps(tmp_path, size, encoded):
    path = tmp_path / "out" / "clip.mp4"
    w, h = size
    with VideoSink(path, size, fps=12) as sink:
        for i in range(5):
            sink.write(i, np.full((h, w, 3), 0.5, np.float32))
    count, read_size, fps, first = probe(path)
    assert (count, read_size, fps) == (5, encoded, 12)
    assert abs(first.astype(int) - 128).max() <= 2  # not rescaled, colours kept
    assert leftovers(tmp_path) == []


def test_video_fractional_fps(tmp_path):
    path = tmp_path / "ntsc.mp4"
    with VideoSink(path, (32, 32), fps=30000 / 1001) as sink:
        for i in range(3):
            sink.write(i, gradient(32, 32, i / 3))
    assert abs(probe(path)[2] - 29.97) < 0.01


def test_video_is_only_renamed_on_clean_close(tmp_path):
    path = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError):
        with VideoSink(path, (32, 32), fps=10) as sink:
            sink.write(0, gradient(32, 32))
            raise RuntimeError("render crashed")
    assert not path.exists()
    assert probe(tmp_path / ".clip.part.mp4")[0] == 1  # the partial video stays playable


def test_bad_codec_is_one_line_sink_error(tmp_path):
    with pytest.raises(SinkError) as info:
        VideoSink(tmp_path / "clip.mp4", (32, 32), fps=10, codec="no_such_codec")
    message = str(info.value)
    assert message.startswith("output.video.codec:") and "no_such_codec" in message and "libx264" in message
    assert "\n" not in message and list(tmp_path.iterdir()) == []


def test_missing_encoder_names_the_key_and_an_alternative(monkeypatch):
    monkeypatch.setattr(ffmpeg, "encoders", lambda: frozenset({"libx264", "prores_ks"}))
    with pytest.raises(SinkError) as info:
        check_codec("dnxhr", (1920, 1080))
    assert str(info.value).startswith("output.video.codec: dnxhr needs ffmpeg's dnxhd encoder")
    assert str(info.value).endswith("use libx264 or prores instead")


def test_every_codec_is_in_the_bundled_ffmpeg():
    assert {codec.encoder for codec in CODECS.values()} <= ffmpeg.encoders()


@pytest.mark.parametrize("codec, shown, size", [
    ("libx264", "h264", (64, 48)), ("libx265", "hevc", (64, 48)), ("libsvtav1", "av1", (64, 48)),
    ("prores", "prores (4444)", (64, 48)), ("dnxhr", "dnxhd (DNXHR HQX)", (256, 120)),
])  # fmt: skip
def test_every_codec_writes_its_container_tagged_bt709(tmp_path, codec, shown, size):
    path = tmp_path / f"clip{CODECS[codec].extension}"
    with VideoSink(path, size, fps=12, codec=codec) as sink:
        for i in range(3):
            sink.write(i, gradient(*size, i / 3))
    (video,) = [s for s in streams(path) if "Video:" in s]
    assert f"Video: {shown}" in video and "bt709" in video and f" {size[0]}x{size[1]}" in video
    assert probe(path)[:3] == (3, size, 12)


def test_dnxhr_refuses_frames_below_its_minimum():
    with pytest.raises(SinkError, match=r"output.video.codec: dnxhr needs frames of at least 256x120 \(size is 64x48\)"):
        check_codec("dnxhr", (64, 48))


def test_prores_keeps_more_than_8_bits(tmp_path):
    """A ramp finer than 8-bit steps comes back with more than 256 levels: the frames reached ffmpeg at 16 bits."""
    path = tmp_path / "ramp.mov"
    ramp = np.repeat(np.linspace(0.2, 0.6, 1024, dtype=np.float32)[None, :, None], 3, axis=2)
    with VideoSink(path, (1024, 8), fps=10, codec="prores") as sink:
        assert sink.bit_depth == 16
        sink.write(0, np.repeat(ramp, 8, axis=0))
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb48le", bpp=6)
    next(reader)
    back = np.frombuffer(next(reader), np.uint16).reshape(8, 1024, 3)
    assert len(np.unique(back[4, :, 1])) > 400  # 8 bits would give 0.4 * 255 = 102 levels


def test_video_in_unwritable_folder(tmp_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    with pytest.raises(SinkError, match="blocker"):
        VideoSink(tmp_path / "blocker" / "clip.mp4", (32, 32), fps=10)


@pytest.mark.parametrize("format", ["png", "tiff"])
@pytest.mark.parametrize("bit_depth, dtype", [(8, np.uint8), (16, np.uint16)])
def test_image_sequence_reads_back(tmp_path, format, bit_depth, dtype):
    frame = gradient(17, 9)
    with FrameSink(tmp_path / "frames", bit_depth=bit_depth, format=format, start_number=1001) as sink:
        sink.write(3, frame)
    path = tmp_path / "frames" / f"001004.{format}"
    if format == "png":
        header = path.read_bytes()[:26]
        assert header[24] == bit_depth and header[25] == 2  # IHDR: bit depth, colour type RGB
    back = iio.imread(path, plugin="opencv", flags=-1)  # -1: IMREAD_UNCHANGED keeps 16 bits
    top = (1 << bit_depth) - 1
    assert back.dtype == dtype and back.shape == (9, 17, 3)
    assert np.array_equal(back, np.rint(frame * top).astype(dtype))
    assert leftovers(tmp_path) == []


def test_exr_is_half_float_linear_with_rec709_chromaticities(tmp_path):
    import OpenEXR

    frame = np.ascontiguousarray(gradient(17, 9).transpose(1, 0, 2)).transpose(1, 0, 2)  # strided, like the renderer's
    with FrameSink(tmp_path, format="exr") as sink:
        assert sink.bit_depth == 16, "EXR asks the renderer for float frames"
        sink.write(0, frame)
    with OpenEXR.File(str(tmp_path / "000000.exr")) as exr:
        pixels = exr.channels()["RGB"].pixels
        chroma = exr.header()["chromaticities"]
    assert pixels.dtype == np.float16 and pixels.shape == (9, 17, 3)
    assert np.allclose(chroma, [0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290])
    assert abs(float(pixels[frame == 0.5][0]) - 0.2140) < 1e-3  # sRGB 0.5 is linear 0.214


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_segments_merge_like_a_binary_counter(tmp_path):
    """16 checkpoints leave one segment, 7 leave three (4 + 2 + 1), and the video has every frame."""
    video = SegmentedVideo(tmp_path / "clip.mp4", (32, 32), fps=10, folder=tmp_path / "seg")
    counts = []
    for cut in range(16):
        for i in range(cut * 2, cut * 2 + 2):
            video.write(i, gradient(32, 32, i / 32))
        segments = video.state()
        video.saved()
        assert names(tmp_path / "seg") == segments
        counts.append(len(segments))
    assert counts[6] == 3 and counts[15] == 1 and max(counts) <= 4
    assert segments == ["000000-000032.mp4"]
    for i in range(32, 35):
        video.write(i, gradient(32, 32))
    video.close()
    assert probe(tmp_path / "clip.mp4")[0] == 35


def test_merged_segments_stay_until_the_checkpoint_names_the_merge(tmp_path):
    video = SegmentedVideo(tmp_path / "clip.mp4", (32, 32), fps=10, folder=tmp_path / "seg")
    for i in range(3):
        video.write(i, gradient(32, 32))
        saved = video.state()
        video.saved()  # as after checkpoint.save
    assert saved == ["000000-000002.mp4", "000002-000003.mp4"] == names(tmp_path / "seg")
    video.write(3, gradient(32, 32))
    assert video.state() == ["000000-000004.mp4"]
    # Until a checkpoint names the merge, the files the saved one names stay; the merge's
    # intermediates (000002-000004, 000003-000004) were never named and are gone already.
    assert names(tmp_path / "seg") == ["000000-000002.mp4", "000000-000004.mp4", "000002-000003.mp4"]
    # The render dies here, so the resumed render opens with the saved list: the merge goes.
    resumed = SegmentedVideo(tmp_path / "clip.mp4", (32, 32), fps=10, folder=tmp_path / "seg", done=saved)
    assert names(tmp_path / "seg") == saved
    for i in (3, 4):
        resumed.write(i, gradient(32, 32, i / 5))
    resumed.close()
    assert probe(tmp_path / "clip.mp4")[0] == 5


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_segments_of_one_or_two_frames_join_in_time(tmp_path, codec):
    """Slow renders checkpoint every frame or two: the joined video still plays every frame once,
    at its rate, for any reader (a constant-rate decode would repeat frames at a bad join)."""
    video = SegmentedVideo(tmp_path / "clip.mp4", (64, 48), fps=24, codec=codec, folder=tmp_path / "seg")
    noise, index = np.random.default_rng(0), 0
    for length in (9, 1, 2, 7, 1):
        for _ in range(length):
            video.write(index, noise.random((48, 64, 3), dtype=np.float32))
            index += 1
        video.state()
        video.saved()
    video.close()
    count, _, fps, _ = probe(tmp_path / "clip.mp4")
    assert (count, fps) == (20, 24)


# End to end: renders with the codecs, frame formats and sound, read back.


def render_config(tmp_path, name, output, extra="", frames=8):
    """A fast render (no network: dream.steps 0) whose frames still change: noise, zoom and rotation."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nsize: [64, 48]\nframes: {frames}\nfps: 10\ndream: {{steps: 0}}\n"
        f"motion: {{zoom: 1.05, rotate: 2}}\noutput: {{dir: {tmp_path / name}, checkpoint_every: 2, {output}}}\n{extra}"
    )
    return path, tmp_path / name


def streams(path):
    """The stream lines ffmpeg prints for a file (ffprobe is not bundled)."""
    log = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return [line.strip() for line in log.stderr.splitlines() if line.strip().startswith("Stream #")]


def stored_frames(video):
    reader = imageio_ffmpeg.read_frames(str(video), output_params=["-fps_mode", "passthrough"])
    next(reader)
    return sum(1 for _ in reader)


def test_prores_render_is_prores_4444_and_resumes_to_every_frame(cli, tmp_path, monkeypatch):
    cfg, folder = render_config(tmp_path, "pr", "video: {codec: prores}, frames: {format: png, start_number: 1001}")
    stop_at(monkeypatch, 3)
    assert cli("render", cfg, "--quiet")[0] == 130
    assert stored_frames(folder / "pr.mov") == 4, "the interrupted video is closed and plays"
    monkeypatch.undo()
    code, _, err = cli("render", cfg, "--quiet", "--resume")
    assert code == 0, err
    assert not (folder / "pr.mp4").exists()
    video = [s for s in streams(folder / "pr.mov") if "Video:" in s]
    assert len(video) == 1 and "prores (4444)" in video[0] and " 64x48" in video[0] and " 10 fps" in video[0]
    assert stored_frames(folder / "pr.mov") == 8
    assert names(folder / "frames") == [f"{n:06d}.png" for n in range(1001, 1009)]


def test_dnxhr_render_is_dnxhr_hqx(cli, tmp_path):
    cfg, folder = render_config(tmp_path, "dnx", "video: {codec: dnxhr}", frames=3)
    assert cli("render", cfg, "--quiet", "--set", "size=[256, 128]")[0] == 0
    video = [s for s in streams(folder / "dnx.mov") if "Video:" in s]
    assert "dnxhd (DNXHR HQX)" in video[0] and "yuv422p10le" in video[0] and " 256x128" in video[0]
    assert stored_frames(folder / "dnx.mov") == 3


@pytest.mark.slow
def test_exr_frames_match_png_frames(cli, tmp_path):
    import OpenEXR

    png_cfg, png = render_config(tmp_path, "png", "video: null, frames: {format: png}", frames=3)
    exr_cfg, exr = render_config(tmp_path, "exr", "video: null, frames: {format: exr}", frames=3)
    assert cli("render", png_cfg, "--quiet")[0] == 0 and cli("render", exr_cfg, "--quiet")[0] == 0
    assert names(exr / "frames") == ["000000.exr", "000001.exr", "000002.exr"]
    for i in range(3):
        with OpenEXR.File(str(exr / "frames" / f"{i:06d}.exr")) as f:
            linear = f.channels()["RGB"].pixels
        assert linear.dtype == np.float16
        linear = linear.astype(np.float64)
        srgb = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
        expected = iio.imread(png / "frames" / f"{i:06d}.png").astype(np.float64)
        assert np.abs(srgb * 255 - expected).max() <= 1.0  # within 8-bit rounding
        assert np.abs(srgb * 255 - expected).mean() < 0.3


def sine_track(tmp_path, seconds, suffix=".flac"):
    """A 440 Hz tone made with numpy, written as WAV by the wave module, then converted by ffmpeg."""
    rate = 44100
    samples = (0.5 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate) * 32767).astype("<i2")
    wav = tmp_path / "tone.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(rate)
        out.writeframes(samples.tobytes())
    if suffix == ".wav":
        return wav
    track = tmp_path / f"tone{suffix}"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(wav), str(track)], check=True)
    return track


def sound(video, rate=44100):
    """The video's sound, decoded to mono float samples."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(video), "-map", "0:a", "-f", "s16le",
           "-ac", "1", "-ar", str(rate), "-"]  # fmt: skip
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, "<i2") / 32768


@pytest.mark.parametrize("codec, extension, audio", [("libx264", "mp4", "aac"), ("prores", "mov", "pcm_s24le")])
def test_sound_is_cut_at_the_offset_and_padded_to_the_video(cli, tmp_path, codec, extension, audio):
    track = sine_track(tmp_path, 1.0)
    cfg, folder = render_config(
        tmp_path, "snd", f"video: {{codec: {codec}}}", extra=f"audio: {{file: {track.name}, offset: 0.5s}}\n", frames=12
    )
    assert cli("render", cfg, "--quiet")[0] == 0
    video = folder / f"snd.{extension}"
    assert any(f"Audio: {audio}" in s for s in streams(video))
    samples = sound(video)
    assert abs(len(samples) / 44100 - 1.2) <= 1024 / 44100  # the video's 12 frames at 10 fps
    rms = lambda a, b: np.sqrt(np.mean(samples[int(a * 44100) : int(b * 44100)] ** 2))  # noqa: E731
    assert rms(0.05, 0.45) > 0.3 and rms(0.6, 1.15) < 0.01  # the tone's last half second, then silence


@pytest.mark.slow
def test_interrupted_render_has_sound_of_its_length(cli, tmp_path, monkeypatch):
    track = sine_track(tmp_path, 3.0, ".wav")
    cfg, folder = render_config(tmp_path, "cut", "video: {}", extra=f"audio: {{file: {track}}}\n", frames=20)
    stop_at(monkeypatch, 5)
    assert cli("render", cfg, "--quiet")[0] == 130
    frames = stored_frames(folder / "cut.mp4")
    assert frames < 20 and abs(len(sound(folder / "cut.mp4")) / 44100 - frames / 10) <= 1024 / 44100


@pytest.mark.parametrize("make, cause", [
    (lambda tmp: tmp / "nothing.mp3", "not found"),
    (lambda tmp: (tmp / "noise.mp3").write_bytes(b"not audio" * 100) and tmp / "noise.mp3", "Invalid data"),
    (lambda tmp: VideoSink(tmp / "silent.mp4", (32, 32), fps=10).close() or tmp / "silent.mp4", "no sound stream"),
])  # fmt: skip
def test_unusable_sound_file_is_one_line_before_rendering(cli, tmp_path, monkeypatch, make, cause):
    path = make(tmp_path)
    cfg, folder = render_config(tmp_path, "bad", "video: {}", extra=f"audio: {{file: {path}}}\n")
    monkeypatch.setattr(Renderer, "__init__", lambda *a: pytest.fail("rendering started"))
    code, _, err = cli("render", cfg, "--quiet")
    assert code == 2 and err.count("\n") == 1 and err.startswith("zoomdream: error: audio.file: ") and cause in err


class Recorder(Sink):
    def __init__(self):
        self.frames, self.closed, self.aborted = [], False, False

    def write(self, index, frame):
        self.frames.append((index, frame.copy()))

    def close(self):
        self.closed = True

    def abort(self):
        self.aborted = True


class DiskFull(Recorder):
    """Fails like a full disk on the third frame."""

    def write(self, index, frame):
        if index == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f"renders/x/frames/{index:06d}.png")
        super().write(index, frame)


def test_frame_sink_rejects_other_depths(tmp_path):
    with pytest.raises(ValueError):
        FrameSink(tmp_path, bit_depth=10)


def test_frame_sink_in_unwritable_folder(tmp_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    with pytest.raises(SinkError, match="cannot write .*blocker"):
        FrameSink(tmp_path / "blocker" / "frames")


def test_write_atomic_replaces_without_temp_files(tmp_path):
    path = tmp_path / "render.json"
    write_atomic(path, "first")
    write_atomic(path, b"second")
    assert path.read_text() == "second"
    assert os.listdir(tmp_path) == ["render.json"]


def test_write_atomic_failure_keeps_old_file_and_no_temp(tmp_path):
    path = tmp_path / "state"
    path.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(SinkError, match="cannot write .*state"):
        write_atomic(path, b"data")
    assert path.is_dir() and os.listdir(tmp_path) == ["state"]


def test_writer_thread_feeds_every_sink_in_order():
    a, b = Recorder(), Recorder()
    with WriterThread([a, b], maxsize=2) as writer:
        for i in range(6):
            writer.put(i, np.full((2, 2, 3), i / 10, np.float32))
    assert [i for i, _ in a.frames] == list(range(6)) == [i for i, _ in b.frames]
    assert a.frames[4][1][0, 0, 0] == np.float32(0.4)
    assert a.closed and b.closed


def test_writer_thread_raises_sink_error_naming_the_file():
    ok, full = Recorder(), DiskFull()
    writer = WriterThread([ok, full], maxsize=1)
    with pytest.raises(SinkError) as info:
        for i in range(6):  # put(4) returns only after frame 2 was written, so put(5) raises
            writer.put(i, np.zeros((2, 2, 3), np.float32))
    assert str(info.value) == "cannot write renders/x/frames/000002.png: No space left on device"
    with pytest.raises(SinkError) as again:
        writer.close()  # drains, aborts the sinks and reports the same error
    assert again.value is info.value
    assert ok.aborted and full.aborted and not ok.closed


def test_writer_thread_error_raised_at_close():
    writer = WriterThread([DiskFull()])
    for i in range(3):
        writer.put(i, np.zeros((2, 2, 3), np.float32))
    with pytest.raises(SinkError, match="No space left"):
        writer.close()
    assert not any(t.name == "zoomdream-writer" and t.is_alive() for t in threading.enumerate())


def test_writer_thread_abort_keeps_the_render_error():
    sink = DiskFull()
    with pytest.raises(KeyboardInterrupt):
        with WriterThread([sink]) as writer:
            for i in range(3):
                writer.put(i, np.zeros((2, 2, 3), np.float32))
            raise KeyboardInterrupt
    assert sink.aborted and [i for i, _ in sink.frames] == [0, 1]


def test_writer_thread_writes_video_and_frames(tmp_path):
    video = VideoSink(tmp_path / "clip.mp4", (24, 16), fps=8)
    frames = FrameSink(tmp_path / "frames", bit_depth=16)
    with WriterThread([video, frames]) as writer:
        for i in range(4):
            writer.put(i, gradient(24, 16, i / 4))
    assert probe(tmp_path / "clip.mp4")[:2] == (4, (24, 16))
    assert sorted(os.listdir(tmp_path / "frames")) == [f"{i:06d}.png" for i in range(4)]
    assert leftovers(tmp_path) == []
