import pytest
import torch

from evofool.errors import ImageReadError
from evofool.files.images import read_image, write_png


def test_png_round_trip_is_lossless_for_byte_values(tmp_path):
    image = torch.randint(0, 256, (3, 5, 7)).float() / 255
    write_png(image, tmp_path / "x.png")
    assert torch.equal(read_image(tmp_path / "x.png", channels=3), image)


def test_gray_file_read_as_rgb_repeats_the_channel(tmp_path):
    write_png(torch.rand(1, 4, 4), tmp_path / "g.png")
    rgb = read_image(tmp_path / "g.png", channels=3)
    assert rgb.shape == (3, 4, 4) and torch.equal(rgb[0], rgb[2])


def test_missing_and_non_image_files_raise(tmp_path):
    with pytest.raises(ImageReadError, match="not found"):
        read_image(tmp_path / "none.png", channels=1)
    (tmp_path / "text.png").write_text("not pixels")
    with pytest.raises(ImageReadError, match="not a readable image"):
        read_image(tmp_path / "text.png", channels=1)
