import pytest

from conveyor.core.durations import format_duration, parse_duration
from conveyor.core.errors import BadInputError


@pytest.mark.parametrize(("text", "seconds"), [
    (30, 30.0), (1.5, 1.5), ("45", 45.0), ("30s", 30.0), ("10m", 600.0), ("2min", 120.0), ("2h", 7200.0),
    ("1d", 86400.0), ("1w", 604800.0), ("1.5h", 5400.0), ("250ms", 0.25), (" 7 D ", 7 * 86400.0), ("0", 0.0),
])
def test_durations(text, seconds):
    assert parse_duration(text, "x") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "-5s", "1y", "", True, "nan", float("inf"), "5 s s"])
def test_bad_durations_name_the_field(text):
    with pytest.raises(BadInputError, match=r"retention\.runs") as info:
        parse_duration(text, "retention.runs")
    assert info.value.field == "retention.runs"


def test_zero_can_be_refused():
    with pytest.raises(BadInputError, match="positive"):
        parse_duration("0s", "budget", allow_zero=False)


@pytest.mark.parametrize(("seconds", "text"), [(90, "90s"), (900, "15m"), (7200, "2h"), (86400 * 3, "3d"),
                                                (1.5, "1.5s"), (604800, "1w")])
def test_format_round_trips(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
