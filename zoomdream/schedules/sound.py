"""Sound features for formulas: loudness, three bands, onsets and a beat pulse, one value per frame.

The track is decoded by the ffmpeg that imageio-ffmpeg ships (so any mp3, wav, flac, aac or
ogg works with nothing else installed), analysed with a short-time Fourier transform in
numpy, and each feature is scaled to [0, 1] by its own percentiles, so a quiet track moves
the camera as much as a loud one. Beats come from a small tempo estimate plus dynamic
programming over the onset curve (Ellis 2007), the method librosa's beat tracker uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ZoomdreamError
from ..io import ffmpeg

RATE = 22050
N_FFT = 2048
HOP = 512
BANDS = {"bass": (0.0, 250.0), "mid": (250.0, 2000.0), "high": (2000.0, RATE / 2 + 1)}
FLUX_BANDS = (40.0, 32)  # lowest frequency and count of the pitch-spaced bands onsets are measured in
TEMPO_RANGE = (40.0, 240.0)
SILENCE = 1e-10
FORMATS_HINT = ffmpeg.SOUND_HINT


class SoundError(ZoomdreamError, ValueError):
    """A sound file that cannot be used; one line naming it and the fix."""


def decode(path: str | Path, offset: float = 0.0) -> np.ndarray:
    """Mono float32 samples at ``RATE`` from ``offset`` seconds to the end."""
    path = Path(path)
    if not path.is_file():
        raise SoundError(f"audio.file: {path} not found; {FORMATS_HINT}")
    samples, reason = ffmpeg.decode_audio(path, offset, RATE)
    if samples is None:
        raise SoundError(f"audio.file: cannot decode {path} ({reason}); {FORMATS_HINT}")
    return samples


def track_seconds(path: str | Path, offset: float = 0.0) -> float:
    """How long the track plays after ``offset``."""
    return len(decode(path, offset)) / RATE


def features(path: str | Path, offset: float, decay: float, fps: float, frames: int) -> dict[str, np.ndarray]:
    """``level bass mid high onset beat`` for video frames 0 .. frames-1, each in [0, 1]; 0 after the track ends."""
    samples = decode(path, offset)
    power, rms = _spectrum(samples)
    hop_times = np.arange(power.shape[0]) * HOP / RATE
    frequencies = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
    raw = {"level": 10 * np.log10(rms**2 + SILENCE)}
    for name, (low, high) in BANDS.items():
        band = power[:, (frequencies >= low) & (frequencies < high)].sum(axis=1)
        raw[name] = 10 * np.log10(band + SILENCE)
    flux = _flux(power)
    raw["onset"] = flux
    times = np.arange(frames) / fps
    width = max(1, round(RATE / HOP / fps))
    table = {
        name: np.interp(times, hop_times, _smooth(_normalise(values), width), right=0.0)
        for name, values in raw.items()
    }
    beats = hop_times[beat_track(_normalise(flux))] if len(flux) else np.zeros(0)
    table["beat"] = pulse(beats, times, decay)
    return table


def _spectrum(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrogram (hops, bins) and windowed RMS per hop, in chunks to bound memory."""
    if len(samples) == 0:
        return np.zeros((0, N_FFT // 2 + 1), np.float32), np.zeros(0, np.float32)
    padded = np.pad(samples, N_FFT // 2)
    padded = np.pad(padded, (0, max(0, N_FFT - len(padded))))
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = np.hanning(N_FFT).astype(np.float32)
    powers, levels = [], []
    for start in range(0, len(windows), 1024):
        chunk = windows[start : start + 1024] * window
        powers.append((np.abs(np.fft.rfft(chunk, axis=1)) ** 2).astype(np.float32) / np.float32(window.sum() ** 2))
        levels.append(np.sqrt(np.mean(chunk**2, axis=1)))
    return np.concatenate(powers), np.concatenate(levels)


def _flux(power: np.ndarray) -> np.ndarray:
    """Spectral flux: how many decibels each band gained since the last hop, summed. The bands
    are spaced evenly in pitch (as the ear and librosa's mel bands are), so a kick drum's few
    low bins count as much as a hi-hat's thousand high ones."""
    if len(power) == 0:
        return np.zeros(0)
    frequencies = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
    band = np.digitize(frequencies, np.geomspace(FLUX_BANDS[0], RATE / 2, FLUX_BANDS[1] + 1)) - 1
    members = (band[:, None] == np.arange(FLUX_BANDS[1])[None, :]).astype(np.float32)
    energy = power @ members
    decibels = 10 * np.log10(energy + SILENCE)
    rise = np.maximum(0.0, np.diff(decibels, axis=0)).sum(axis=1)
    return np.concatenate([[0.0], rise])


def _normalise(values: np.ndarray) -> np.ndarray:
    """Scale by the 5th and 99th percentiles and clip to [0, 1]: robust to a few spikes."""
    if len(values) == 0:
        return values
    low, high = np.percentile(values, [5, 99])
    if high - low < 1e-9:
        return np.zeros_like(values, dtype=np.float64)
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or len(values) == 0:
        return values
    return np.convolve(values, np.ones(width) / width, mode="same")


def pulse(beats: np.ndarray, times: np.ndarray, decay: float) -> np.ndarray:
    """1 at each beat, falling linearly to 0 over ``decay`` seconds."""
    if len(beats) == 0:
        return np.zeros_like(times)
    last = np.searchsorted(beats, times, side="right") - 1
    since = times - beats[np.maximum(last, 0)]
    return np.where(last >= 0, np.clip(1.0 - since / decay, 0.0, 1.0), 0.0)


def tempo_period(onset: np.ndarray) -> int:
    """The beat period in hops: the onset curve's strongest autocorrelation lag, weighted
    towards 120 BPM (one octave either side) so a half or double tempo rarely wins."""
    hops_per_minute = 60.0 * RATE / HOP
    shortest, longest = int(hops_per_minute / TEMPO_RANGE[1]), int(hops_per_minute / TEMPO_RANGE[0])
    centred = onset - onset.mean()
    size = 1 << int(np.ceil(np.log2(2 * len(centred) + 1)))
    spectrum = np.fft.rfft(centred, size)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2, size)[: longest + 1]
    lags = np.arange(shortest, min(longest, len(onset) - 1) + 1)
    if len(lags) == 0:
        return shortest
    prior = np.exp(-0.5 * np.log2(hops_per_minute / lags / 120.0) ** 2)
    return int(lags[np.argmax(correlation[lags] * prior)])


def beat_track(onset: np.ndarray, tightness: float = 100.0) -> np.ndarray:
    """Hop indices of the beats: the chain through the onset curve that best trades strong
    onsets against keeping the estimated period (dynamic programming, then backtracking)."""
    if len(onset) < 4 or onset.max() <= 0:
        return np.zeros(0, dtype=int)
    period = tempo_period(onset)
    offsets = np.arange(-period, period + 1)
    # "full" cut to the onset's length: "same" returns the kernel's length when a short track is shorter than it
    local = np.convolve(onset / (onset.std() + 1e-9), np.exp(-0.5 * (offsets * 32.0 / period) ** 2), "full")
    local = local[period : period + len(onset)]
    score, back = np.zeros(len(local)), np.full(len(local), -1)
    steps = np.arange(period // 2, 2 * period + 1)
    penalty = -tightness * np.log(steps / period) ** 2
    for i in range(len(local)):
        earlier = i - steps
        valid = earlier >= 0
        if not valid.any():
            score[i] = local[i]
            continue
        candidates = score[earlier[valid]] + penalty[valid]
        best = int(np.argmax(candidates))
        score[i], back[i] = local[i] + candidates[best], earlier[valid][best]
    peaks = np.flatnonzero((score[1:-1] > score[:-2]) & (score[1:-1] >= score[2:])) + 1
    if len(peaks) == 0:
        return np.zeros(0, dtype=int)
    last = peaks[score[peaks] >= 0.5 * np.median(score[peaks])][-1]
    beats = [int(last)]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    beats = np.array(beats[::-1])
    strong = local[beats] >= 0.5 * np.sqrt(np.mean(local[beats] ** 2))
    kept = np.flatnonzero(strong)
    return beats[kept[0] : kept[-1] + 1] if len(kept) else beats[:0]
