import math

import torch
import torch.nn.functional as F

from zoomdream.motion import FIELD_OF_VIEW, affine, camera, chain, grid, per_frame, relative, resampling_blur, sharpen, warp


def theta(zoom=1.0, rotate=0.0, pan_x=0.0, pan_y=0.0, cx=0.5, cy=0.5, size=(64, 64)):
    t = lambda v: torch.tensor([float(v)])  # noqa: E731
    return affine(t(zoom), t(rotate), t(pan_x), t(pan_y), t(cx), t(cy), size=size)


def image(h=64, w=64, seed=0):
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_identity_is_exact():
    x = image(48, 80)
    assert torch.equal(warp(x, theta(size=(80, 48)), torch.tensor([0.5])), x)


def test_zoom_matches_crop_and_upscale_reference():
    x = image()
    out = warp(x, theta(zoom=2.0))
    reference = F.interpolate(x[..., 16:48, 16:48], scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(out[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1], atol=1e-5)


def test_zoom_about_a_corner_keeps_that_corner():
    x = image()
    out = warp(x, theta(zoom=2.0, cx=0.0, cy=0.0))
    reference = F.interpolate(x[..., :32, :32], scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(out[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1], atol=1e-5)


def test_integer_pan_shifts_pixels():
    x = image()
    out = warp(x, theta(pan_x=3, pan_y=-2))
    assert torch.allclose(out[..., 0:60, 3:], x[..., 2:62, :-3], atol=1e-5)


def test_rotation_by_90_degrees_on_a_square_is_a_transpose():
    x = image()
    out = warp(x, theta(rotate=90))
    assert torch.allclose(out, torch.rot90(x, 1, dims=(2, 3)), atol=1e-4)


def test_zoom_out_fills_border_by_reflection_not_black():
    ramp = 0.2 + 0.6 * torch.arange(64.0) / 63
    x = ramp.expand(1, 3, 64, 64).clone()
    out = warp(x, theta(zoom=0.5))
    assert out.min() >= 0.2 - 1e-6
    mirrored = 0.2 + 0.6 * 30.5 / 63
    assert torch.allclose(out[..., :, 0], torch.full_like(out[..., :, 0], mirrored), atol=1e-5)


def test_lanes_move_independently():
    x = image().repeat(2, 1, 1, 1)
    t = torch.cat([theta(), theta(zoom=1.5)])
    out = warp(x, t)
    assert torch.equal(out[0], x[0]) and not torch.allclose(out[1], x[1])


def test_per_second_rates_keep_motion_in_time():
    for fps in (24, 30, 60):
        zoom, rotate, pan_x, _ = per_frame(2.0, 30.0, 12.0, 0.0, fps)
        assert math.isclose(zoom**fps, 2.0) and zoom > 1
        assert math.isclose(rotate * fps, 30.0) and math.isclose(pan_x * fps, 12.0)


def test_sharpen_raises_local_contrast_only():
    x = torch.full((1, 3, 32, 32), 0.5)
    x[..., :, 16:] = 0.6
    out = sharpen(x, torch.tensor([1.0]))
    assert (out[..., 10, 16] > x[..., 10, 16]).all() and (out[..., 10, 15] < x[..., 10, 15]).all()
    assert torch.allclose(out[..., 10, 2], x[..., 10, 2])


def test_chained_moves_compose_exactly():
    steps = [theta(zoom=1.04, rotate=3, pan_x=1, size=(80, 48)) for _ in range(4)]
    path = chain(steps)
    assert torch.allclose(path[0], steps[0].double())
    four = theta(zoom=1.04**4, rotate=12, size=(80, 48))
    without_pan = chain([theta(zoom=1.04, rotate=3, size=(80, 48)) for _ in range(4)])[-1]
    assert torch.allclose(without_pan, four.double(), atol=1e-9)


def test_relative_move_lands_on_the_later_frame():
    path = chain([theta(zoom=1.1, pan_y=2) for _ in range(3)])
    assert torch.allclose(relative(path[2], path[2]), torch.eye(2, 3, dtype=torch.float64).unsqueeze(0), atol=1e-12)
    assert torch.allclose(relative(path[1], path[2]), torch.linalg.inv(torch.cat([path[0][0], torch.tensor([[0, 0, 1.0]], dtype=torch.float64)]))[:2].unsqueeze(0), atol=1e-9)


def test_sharpening_only_where_resampling_blurred():
    x = image()
    shifted = warp(x, theta(pan_x=3, pan_y=-2), torch.tensor([1.0]))
    assert torch.allclose(shifted[..., 0:60, 3:], x[..., 2:62, :-3], atol=1e-5), "a whole-pixel move stays unsharpened"
    half = warp(x, theta(pan_x=0.5), torch.tensor([1.0]))
    plain = warp(x, theta(pan_x=0.5))
    assert (half[..., 8:-8, 8:-8] - plain[..., 8:-8, 8:-8]).abs().mean() > 0.02


def test_resampling_blur_is_zero_on_pixels_and_one_halfway():
    grid = F.affine_grid(theta(pan_x=0.5), [1, 3, 64, 64], align_corners=False)
    blur = resampling_blur(grid, (64, 64))
    assert torch.allclose(blur[:, 0], torch.ones_like(blur[:, 0]), atol=1e-4)
    assert torch.allclose(blur[:, 1], torch.zeros_like(blur[:, 1]), atol=1e-4)


def moved(size=(80, 48), **rates):
    values = {"zoom": 1.0, "rotate": 0.0, "pan_x": 0.0, "pan_y": 0.0, "tilt_x": 0.0, "tilt_y": 0.0, "cx": 0.5, "cy": 0.5}
    values.update(rates)
    t = {k: torch.tensor([float(v)]) for k, v in values.items()}
    return camera(t["zoom"], t["rotate"], t["pan_x"], t["pan_y"], t["tilt_x"], t["tilt_y"], t["cx"], t["cy"], size=size)


def test_without_tilt_the_camera_is_the_affine_move():
    assert torch.equal(moved(zoom=1.1, rotate=3, pan_x=2), theta(zoom=1.1, rotate=3, pan_x=2, size=(80, 48)).double())


def test_tilt_is_a_perspective_turn_about_the_centre():
    width, height = 80, 48
    focal = (width / 2) / math.tan(math.radians(FIELD_OF_VIEW) / 2)
    right = moved(tilt_y=2.0)
    assert right.shape == (1, 3, 3) and right[0, 2, 0] != 0, "a turn is projective"
    sampled = grid(right, [1, 3, height, width])
    centre = sampled[0, height // 2 - 1 : height // 2 + 1, width // 2 - 1 : width // 2 + 1].mean((0, 1))
    assert math.isclose(float(centre[0]) * width / 2, focal * math.tan(math.radians(2.0)), rel_tol=0.02), "turning right samples to the right"
    assert abs(float(centre[1])) < 1e-6
    up = grid(moved(tilt_x=2.0), [1, 3, height, width])
    assert float(up[0, height // 2, width // 2, 1]) < -0.05, "looking up samples the rows above"
    far, near = sampled[0, :, -1, 1], sampled[0, :, 0, 1]
    assert float(far.max() - far.min()) > float(near.max() - near.min()), "the side turned toward grows taller"


def test_a_turn_and_its_reverse_cancel():
    path = chain([moved(tilt_x=3.0, tilt_y=-2.0), moved(tilt_y=2.0), moved(tilt_x=-3.0)])
    assert path[-1].shape == (1, 3, 3)
    back = chain([moved(tilt_x=3.0), moved(tilt_x=-3.0)])[-1]
    assert torch.allclose(back, torch.eye(2, 3, dtype=torch.float64).unsqueeze(0), atol=1e-12), "the composition is affine again"
    x = image(48, 80)
    assert torch.allclose(warp(x, back), x, atol=1e-5)


def test_revealed_ground_gets_fresh_texture_not_a_mirror():
    ramp = (0.2 + 0.6 * torch.arange(64.0) / 63).expand(1, 3, 64, 64).clone()
    asked = []

    def fill(lanes, shape):
        asked.append(lanes.tolist())
        return torch.full(shape, 0.3)

    out = warp(ramp, theta(zoom=0.5), fill=fill)
    assert asked == [[True]], "noise is asked for only for lanes that reveal something"
    mirrored = warp(ramp, theta(zoom=0.5))
    assert torch.allclose(out[..., 24:40, 24:40], mirrored[..., 24:40, 24:40]), "the old picture is untouched"
    edge = out[..., 28:36, :2]
    assert torch.allclose(edge, torch.full_like(edge, 0.3 + 0.3), atol=0.02), "the left third's colour plus the noise"
    assert (mirrored[..., 28:36, :2] - edge).abs().mean() > 0.1, "not the mirror of the edge"
    warp(ramp, theta(zoom=2.0), fill=fill)
    assert len(asked) == 1, "zooming in reveals nothing"
