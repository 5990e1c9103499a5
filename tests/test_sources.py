import imageio.v3 as iio
import numpy as np
import PIL.Image
import pytest
import torch
from PIL import Image

from zoomdream.sources import SourceError, load_image, noise

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def bands(colors, band_w=20, h=20) -> Image.Image:
    """Vertical bands of solid colour, left to right."""
    row = np.concatenate([np.tile(np.array(c, np.uint8), (h, band_w, 1)) for c in colors], axis=1)
    return Image.fromarray(row)


def save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


def rgb_at(t: torch.Tensor, y: int, x: int) -> tuple:
    return tuple(round(v * 255) for v in t[0, :, y, x].tolist())


def assert_rgb_tensor(t: torch.Tensor, w: int, h: int):
    assert t.shape == (1, 3, h, w)
    assert t.dtype == torch.float32 and t.device.type == "cpu"
    assert 0.0 <= t.min() and t.max() <= 1.0


def test_cover_fills_and_crops_centre(tmp_path):
    path = save(bands([RED, GREEN, BLUE]), tmp_path / "b.png")  # 60x20
    t = load_image(path, (20, 20), fit="cover")
    assert_rgb_tensor(t, 20, 20)
    assert torch.allclose(t, torch.tensor([0.0, 1.0, 0.0]).view(1, 3, 1, 1), atol=1e-3)


def test_contain_keeps_whole_image_and_mirrors_instead_of_black(tmp_path):
    path = save(bands([RED, BLUE], band_w=10, h=40), tmp_path / "b.png")  # 20x40, red | blue
    t = load_image(path, (80, 40), fit="contain")
    assert_rgb_tensor(t, 80, 40)
    # the whole image sits in the centre columns 30..49
    assert rgb_at(t, 20, 32) == RED and rgb_at(t, 20, 47) == BLUE
    # mirrored beside it: blue touches the right edge of the image, red its left edge
    assert rgb_at(t, 20, 52) == BLUE and rgb_at(t, 20, 27) == RED
    assert t.sum(dim=1).min() > 0.9  # no dark bars anywhere


def test_contain_mirrors_pads_wider_than_the_image(tmp_path):
    path = save(bands([RED], band_w=4, h=40), tmp_path / "b.png")  # 4x40 into 200x40
    t = load_image(path, (200, 40), fit="contain")
    assert torch.allclose(t, torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1), atol=1e-3)


def test_stretch_resizes_each_axis(tmp_path):
    path = save(bands([RED, GREEN, BLUE]), tmp_path / "b.png")  # 60x20
    t = load_image(path, (30, 30), fit="stretch")
    assert_rgb_tensor(t, 30, 30)
    assert [rgb_at(t, 15, x) for x in (3, 15, 26)] == [RED, GREEN, BLUE]


def test_exif_orientation_is_applied(tmp_path):
    img = bands([RED, BLUE])  # 40x20, red | blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display turns it 90° clockwise, left side goes to the top
    path = save(img, tmp_path / "r.jpg", exif=exif, quality=95)
    t = load_image(path, (20, 40), fit="stretch")
    top, bottom = t[0, :, 5, 10], t[0, :, 34, 10]
    assert top[0] > 0.9 > top[2] and bottom[2] > 0.9 > bottom[0]


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "I;16", "CMYK"])
def test_modes_become_rgb(tmp_path, mode):
    img = bands([RED, GREEN]).convert(mode)
    ext = "jpg" if mode == "CMYK" else "png"
    t = load_image(save(img, tmp_path / f"m.{ext}"), (40, 20), fit="stretch")
    assert_rgb_tensor(t, 40, 20)


def test_transparent_pixels_become_mid_grey(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:, 5:] = (255, 0, 0, 255)
    t = load_image(save(Image.fromarray(rgba), tmp_path / "a.png"), (10, 10), fit="stretch")
    assert rgb_at(t, 5, 1) == (128, 128, 128) and rgb_at(t, 5, 8) == RED


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (8, 8), 0)
    img.putpalette([0, 0, 255, 255, 255, 255])
    img.info["transparency"] = 0
    t = load_image(save(img, tmp_path / "p.png", transparency=0), (8, 8), fit="stretch")
    assert rgb_at(t, 4, 4) == (128, 128, 128)


def test_16bit_greyscale_keeps_precision(tmp_path):
    grey = np.full((8, 8), 1000, np.uint16)  # 8 bits cannot hold 1000/65535
    t = load_image(save(Image.fromarray(grey), tmp_path / "g.png"), (8, 8), fit="stretch")
    assert torch.allclose(t, torch.full_like(t, 1000 / 65535), atol=1e-6)


def test_16bit_rgb_png_loads(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint16)
    rgb[..., 0] = 65535
    iio.imwrite(tmp_path / "c.png", rgb, plugin="opencv")
    t = load_image(tmp_path / "c.png", (8, 8), fit="stretch")
    assert rgb_at(t, 4, 4) == RED


@pytest.mark.parametrize("ext", ["jpg", "webp"])
def test_jpeg_and_webp_load(tmp_path, ext):
    path = save(bands([RED, BLUE]), tmp_path / f"x.{ext}", quality=95)
    t = load_image(path, (40, 20), fit="stretch")
    assert_rgb_tensor(t, 40, 20)
    left, right = t[0, :, 10, 5], t[0, :, 10, 34]
    assert left[0] > 0.85 > left[2] and right[2] > 0.85 > right[0]


def test_accepts_str_path(tmp_path):
    path = save(bands([GREEN]), tmp_path / "s.png")
    assert load_image(str(path), (4, 4)).shape == (1, 3, 4, 4)


def written(name: str, data: bytes):
    def make(folder):
        (folder / name).write_bytes(data)
        return folder / name

    return make


def truncated_jpeg(tmp_path):
    noisy = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    full = save(Image.fromarray(noisy), tmp_path / "full.jpg")
    path = tmp_path / "cut.jpg"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return path


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "missing.jpg", "not found"),
        (lambda d: d, "is a directory"),
        (written("empty.png", b""), "empty"),
        (written("notes.txt", b"hello"), "not a readable image"),
        (truncated_jpeg, "not a readable image"),
    ],
    ids=["missing", "directory", "zero-byte", "text", "truncated"],
)
def test_failures_are_one_line_source_errors(tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(SourceError) as info:
        load_image(path, (16, 16))
    message = str(info.value)
    assert words in message and str(path) in message and "\n" not in message


def test_decompression_bomb_guard(tmp_path, monkeypatch):
    path = save(bands([RED]), tmp_path / "big.png")  # 400 pixels
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(SourceError, match="too large"):
        load_image(path, (16, 16))


def test_unknown_fit_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        load_image(save(bands([RED]), tmp_path / "x.png"), (4, 4), fit="zoom")


@pytest.mark.parametrize("kind", ["uniform", "gaussian"])
def test_noise_is_deterministic_per_seed(kind):
    draw = lambda seed: noise(kind, 1.0, (32, 24), torch.Generator().manual_seed(seed), batch=2)
    a, b, c = draw(7), draw(7), draw(8)
    assert a.shape == (2, 3, 24, 32) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_uniform_noise_range_and_mean():
    full = noise("uniform", 1.0, (256, 256), torch.Generator().manual_seed(0))
    assert full.min() < 0.01 and full.max() > 0.99 and abs(full.mean() - 0.5) < 0.01
    half = noise("uniform", 0.5, (256, 256), torch.Generator().manual_seed(0))
    assert half.min() >= 0.25 and half.max() <= 0.75 and abs(half.mean() - 0.5) < 0.01


def test_gaussian_noise_std_scales_and_clamps():
    g = noise("gaussian", 0.4, (256, 256), torch.Generator().manual_seed(0))
    assert abs(g.mean() - 0.5) < 0.01 and abs(g.std() - 0.1) < 0.005
    wide = noise("gaussian", 4.0, (64, 64), torch.Generator().manual_seed(0))
    assert wide.min() == 0.0 and wide.max() == 1.0


def test_unknown_noise_kind_is_rejected():
    with pytest.raises(ValueError):
        noise("perlin", 1.0, (4, 4), torch.Generator())
