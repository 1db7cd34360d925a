import pytest

from evofool.models import InputSpec


def test_dict_round_trip():
    spec = InputSpec(channels=3, height=224, width=224, value_range=(0.0, 255.0),
                     mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2), resize=True)
    assert InputSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("data, message", [
    ({"channels": 2, "height": 28, "width": 28}, "channels must be 1 or 3"),
    ({"channels": 1, "height": 0, "width": 28}, "must be positive"),
    ({"channels": 1, "height": 28, "width": 28, "mean": [0.5]}, "together"),
    ({"channels": 3, "height": 8, "width": 8, "mean": [0.5], "std": [0.5]}, "needs 3 values"),
    ({"channels": 1, "height": 28, "width": 28, "colour": True}, "unknown input spec key"),
    ({"channels": 1, "height": 28}, "lacks 'width'"),
    ({"channels": 1, "height": 28, "width": 28, "value_range": [1, 0]}, "low < high"),
])
def test_invalid_specs_name_the_problem(data, message):
    with pytest.raises(ValueError, match=message):
        InputSpec.from_dict(data)
