import numpy as np
import pytest

from zoomdream.schedule import Schedule, ScheduleError, parse_keyframes


def test_number_is_constant():
    s = Schedule.parse(1.05)
    assert s.at(0, 30) == s.at(1000, 30) == 1.05


def test_deforum_string_linear_between_keys_and_holds_outside():
    s = Schedule.parse("0:(0), 100:(1), 200:(0)")
    assert s.at(0, 30) == 0
    assert s.at(50, 30) == pytest.approx(0.5)
    assert s.at(150, 30) == pytest.approx(0.5)
    assert s.at(500, 30) == 0


def test_mapping_with_unsorted_keys():
    s = Schedule.parse({100: 2.0, 0: 1.0})
    assert s.at(25, 30) == pytest.approx(1.25)


def test_time_keys_follow_fps():
    s = Schedule.parse({0: 0.0, "2s": 1.0})
    assert s.at(30, 30) == pytest.approx(0.5)
    assert s.at(60, 60) == pytest.approx(0.5)


def test_cubic_passes_through_keys_and_is_smooth():
    s = Schedule.parse("0:(0), 10:(1), 20:(0), 30:(1)", "cubic")
    t = np.arange(0, 31)
    v = s.values(t, 30)
    assert v[[0, 10, 20, 30]] == pytest.approx([0, 1, 0, 1])
    assert not np.allclose(v[:11], np.linspace(0, 1, 11))
    assert np.max(np.abs(np.diff(v, 2))) < 0.1


def test_ease_starts_and_ends_slowly():
    s = Schedule.parse("0:(0), 10:(1)", "ease")
    assert s.at(1, 30) < 0.1 and s.at(9, 30) > 0.9 and s.at(5, 30) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "bad",
    ["0:(1), 10:(", "abc", "0:(x)", "-5:(1)", {}, {"soon": 1}, [1, 2], True, float("nan"), "0:(1) 10:(2)"],
)
def test_malformed_schedules_raise(bad):
    with pytest.raises(ScheduleError):
        parse_keyframes(bad)


def test_same_frame_twice_is_an_error():
    with pytest.raises(ScheduleError, match="same frame"):
        Schedule.parse({0: 1, "0s": 2}).at(0, 30)


def test_unknown_interpolation():
    with pytest.raises(ScheduleError, match="interpolation"):
        Schedule.parse(1, "bezier")
