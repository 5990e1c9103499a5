"""Sound features from a click track made here, and a render whose zoom pulses on its beats."""

import subprocess
import wave
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

from zoomdream.schedules import sound
from zoomdream.config import ConfigError, load_config

RATE = 22050
BEAT = 0.5  # seconds between clicks: 120 BPM
FIRST = 0.25


def click_track(path: Path, seconds: float = 6.0) -> Path:
    """Low thumps every BEAT seconds over faint noise, as 16-bit WAV."""
    samples = 0.005 * np.random.default_rng(0).standard_normal(int(RATE * seconds))
    n = int(0.04 * RATE)
    thump = np.sin(2 * np.pi * 80 * np.arange(n) / RATE) * np.exp(-np.arange(n) / (0.01 * RATE))
    for start in np.arange(FIRST, seconds - 0.05, BEAT):
        i = int(start * RATE)
        samples[i : i + n] += 0.8 * thump
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def clicks(tmp_path_factory) -> Path:
    return click_track(tmp_path_factory.mktemp("sound") / "clicks.wav")


def test_beats_land_on_the_clicks(clicks):
    onset = sound._normalise(sound._flux(sound._spectrum(sound.decode(clicks))[0]))
    assert sound.tempo_period(onset) * sound.HOP / RATE == pytest.approx(BEAT, abs=0.03)
    beats = sound.beat_track(onset) * sound.HOP / RATE
    clicks_at = np.arange(FIRST, 6.0 - 0.05, BEAT)
    assert len(beats) >= len(clicks_at) - 1
    assert np.abs(beats[:, None] - clicks_at[None, :]).min(axis=1).max() < 0.05


def test_features_are_in_range_and_follow_the_clicks(clicks):
    fps = 20
    table = sound.features(clicks, 0.0, 0.25, fps, 140)
    assert set(table) == {"level", "bass", "mid", "high", "onset", "beat"}
    for name, values in table.items():
        assert values.shape == (140,) and values.min() >= 0 and values.max() <= 1, name
    on = [round((FIRST + k * BEAT) * fps) for k in range(10)]
    off = [round((FIRST + k * BEAT + 0.3) * fps) for k in range(10)]
    for name in ("level", "bass", "onset", "beat"):
        assert table[name][on].min() > table[name][off].max(), name
    assert np.all(table["level"][125:] == 0), "silent after the track ends (6 s = frame 120)"


def test_offset_shifts_the_features(clicks):
    plain = sound.features(clicks, 0.0, 0.25, 20, 100)["bass"]
    later = sound.features(clicks, 1.0, 0.25, 20, 80)["bass"]
    assert np.corrcoef(plain[20:100], later)[0, 1] > 0.9
    assert sound.track_seconds(clicks, 1.5) == pytest.approx(4.5, abs=0.01)


def test_compressed_formats_decode(clicks, tmp_path):
    ogg = tmp_path / "clicks.ogg"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(clicks), "-c:a", "libvorbis", str(ogg)], check=True)
    assert sound.track_seconds(ogg) == pytest.approx(6.0, abs=0.05)


def test_unreadable_sound_files_are_one_line(tmp_path):
    with pytest.raises(sound.SoundError, match="audio.file: .* not found"):
        sound.decode(tmp_path / "missing.ogg")
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not sound at all" * 10)
    with pytest.raises(sound.SoundError, match="audio.file: cannot decode .*junk.mp3") as error:
        sound.decode(junk)
    assert "\n" not in str(error.value)


def test_duration_audio_is_the_track_after_its_offset(clicks, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"fps: 10\nduration: audio\naudio: {{file: {clicks.name}, offset: 1.5s}}\n")
    (tmp_path / clicks.name).write_bytes(clicks.read_bytes())
    config = load_config(recipe)
    assert config.frame_count == 45 and config.audio.file == str(tmp_path / clicks.name)
    with pytest.raises(ConfigError, match="^duration: 'audio' needs an audio section"):
        load_config({"duration": "audio"})
    with pytest.raises(ConfigError, match="^audio.offset: must be seconds"):
        load_config({"audio": {"file": "x.ogg", "offset": "soon"}})
    with pytest.raises(ConfigError, match="^audio.file: .* not found"):
        load_config({"duration": "audio", "audio": {"file": str(tmp_path / "gone.ogg")}})


@pytest.mark.slow
def test_zoom_pulses_on_the_beats(cli, clicks, tmp_path):
    fps, frames = 12, 48
    (tmp_path / "pulse.yaml").write_text("name: pulse\n")
    out = tmp_path / "out"
    settings = [
        "size=[64, 64]", f"frames={frames}", f"fps={fps}", "dream.steps=0", "color.match=none", "motion.sharpen=0",
        'motion.zoom="1 + 0.05*beat"', f"audio={{file: {clicks}, decay: 0.25}}", "start.noise.scale=1",
        f"output.dir={out}", "output.video=null", "output.frames={bit_depth: 8}",
    ]
    code, _, err = cli("render", tmp_path / "pulse.yaml", "--quiet", *[x for s in settings for x in ("--set", s)])
    assert code == 0, err
    images = np.stack([iio.imread(p).astype(float) for p in sorted((out / "frames").glob("*.png"))])
    change = np.abs(np.diff(images, axis=0)).mean(axis=(1, 2, 3))  # change[i]: frame i+1 against frame i
    beats = FIRST + BEAT * np.arange(7)
    after = [int(np.ceil(b * fps)) - 1 for b in beats]  # the first frame at or after each click, as a change index
    between = [int((b + 0.3) * fps) - 1 for b in beats]
    assert change[after].min() > 5 * max(change[between].max(), 0.05), (change[after], change[between])
