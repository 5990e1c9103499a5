import math

import numpy as np
import pytest

from zoomdream.schedules.keyframes import Clock, Schedule, ScheduleError, parse_keyframes

CLOCK = Clock(fps=30, frame_count=300)


def at(schedule: Schedule, frame: float, clock: Clock = CLOCK) -> float:
    return float(schedule.values([frame], clock)[0])


def test_number_is_constant():
    s = Schedule.parse(1.05)
    assert at(s, 0) == at(s, 1000) == 1.05


def test_deforum_string_linear_between_keys_and_holds_outside():
    s = Schedule.parse("0:(0), 100:(1), 200:(0)")
    assert at(s, 0) == 0
    assert at(s, 50) == pytest.approx(0.5)
    assert at(s, 150) == pytest.approx(0.5)
    assert at(s, 500) == 0


def test_mapping_with_unsorted_keys():
    s = Schedule.parse({100: 2.0, 0: 1.0})
    assert at(s, 25) == pytest.approx(1.25)


def test_time_keys_follow_fps():
    s = Schedule.parse({0: 0.0, "2s": 1.0})
    assert at(s, 30) == pytest.approx(0.5)
    assert at(s, 60, Clock(60, 300)) == pytest.approx(0.5)


def test_cubic_passes_through_keys_and_is_smooth():
    s = Schedule.parse("0:(0), 10:(1), 20:(0), 30:(1)", "cubic")
    v = s.values(np.arange(0, 31), CLOCK)
    assert v[[0, 10, 20, 30]] == pytest.approx([0, 1, 0, 1])
    assert not np.allclose(v[:11], np.linspace(0, 1, 11))
    assert np.max(np.abs(np.diff(v, 2))) < 0.1


def test_ease_starts_and_ends_slowly():
    s = Schedule.parse("0:(0), 10:(1)", "ease")
    assert at(s, 1) < 0.1 and at(s, 9) > 0.9 and at(s, 5) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "bad",
    ["0:(1), 10:(", "abc", "0:(x)", "-5:(1)", {}, {"soon": 1}, [1, 2], True, float("nan"), "0:(1) 10:(2)",
     "0:1", "0:((1)", "0:(1)), 5:(2)", "0:(1),", "0:(1), :(2)"],
)
def test_malformed_schedules_raise(bad):
    with pytest.raises(ScheduleError):
        parse_keyframes(bad)


def test_same_frame_twice_is_an_error():
    with pytest.raises(ScheduleError, match="same frame"):
        Schedule.parse({0: 1, "0s": 2}).values([0], CLOCK)


def test_unknown_interpolation():
    with pytest.raises(ScheduleError, match="interpolation"):
        Schedule.parse(1, "bezier")


def test_deforum_zoom_expression_evaluates_like_deforum():
    """Deforum's default zoom: numexpr over t, the frame number, at every frame."""
    s = Schedule.parse("0:(1.0025+0.002*sin(1.25*3.14*t/30))")
    frames = np.array([0, 7, 12, 24, 100, 299])
    expected = [1.0025 + 0.002 * math.sin(1.25 * 3.14 * t / 30) for t in frames]
    assert s.values(frames, CLOCK) == pytest.approx(expected, abs=1e-12)


def test_nested_parentheses_in_keyframes():
    s = Schedule.parse("0: (1.0), 60: (1.02 + 0.01*cos((t - 60)/(10*(1 + 1))))")
    assert at(s, 100) == pytest.approx(1.02 + 0.01 * math.cos(40 / 20))
    assert at(s, 30) == pytest.approx((1.0 + 1.03) / 2), "a number key interpolates to the formula's value at its key"


def test_formula_holds_until_the_next_key_then_numbers_interpolate():
    s = Schedule.parse("0:(t/10), 20:(5), 40:(7)")
    assert at(s, 19) == pytest.approx(1.9)
    assert at(s, 20) == 5 and at(s, 30) == pytest.approx(6) and at(s, 90) == 7


def test_formula_before_its_key_holds_its_value_at_the_key():
    s = Schedule.parse({10: "t*2", 20: "s"})
    assert at(s, 0) == 20 and at(s, 15) == 30 and at(s, 60) == pytest.approx(2.0)


def test_bare_formula_and_names():
    clock = Clock(fps=25, frame_count=100)
    assert at(Schedule.parse("s*fps + max_f - frames + pi - e"), 50, clock) == pytest.approx(50 - 1 + math.pi - math.e)
    assert at(Schedule.parse("where(t > 5, 1, 0) + min(t, 2, 3) + max(t, 0) + (t % 4) + 2**3"), 6, clock) == 1 + 2 + 6 + 2 + 8
    assert at(Schedule.parse("arctan2(1, 1) + floor(2.7) + ceil(2.1) + abs(-1) + log10(100)"), 0, clock) == pytest.approx(
        math.pi / 4 + 2 + 3 + 1 + 2
    )


def test_a_number_written_as_text_stays_a_number():
    assert parse_keyframes("1.5")[0].value == 1.5
    assert parse_keyframes({0: "2"})[0].value == 2.0


def test_sound_features_are_read_per_frame():
    clock = Clock(fps=10, frame_count=4, sound={"bass": np.array([0.0, 1.0, 0.5, 0.25])})
    assert Schedule.parse("1 + bass").values([0, 1, 2, 3, 9], clock) == pytest.approx([1, 2, 1.5, 1.25, 1])


@pytest.mark.parametrize(
    "hostile, says",
    [
        ("__import__('os').system('x')", "attribute access not allowed"),
        ("t.__class__", "attribute access not allowed"),
        ("().__class__", "attribute access not allowed"),
        ("open", "unknown name 'open'"),
        ("open('x')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("'text'", "strings not allowed"),
        ("(lambda: 1)()", "not allowed"),
        ("t[0]", "subscripts not allowed"),
        ("1 + foo", "unknown name 'foo'"),
        ("sin(t, t)", "takes 1 argument"),
        ("1" + "+1" * 5000, "characters; keep it under"),
        ("(" * 300 + "1" + ")" * 300, "cannot read expression"),
        ("-" * 200 + "1", "nested"),
        ("max(" * 40 + "t" + ", t)" * 40, "too large"),
        ("1e999", "too large"),
    ],
)
def test_hostile_or_unknown_formulas_are_refused(hostile, says):
    with pytest.raises(ScheduleError) as error:
        parse_keyframes(hostile)
    message = str(error.value)
    assert says in message and "\n" not in message and len(message) < 300
