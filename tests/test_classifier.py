import pytest
import torch

from evofool.errors import InputShapeError
from evofool.models import Classifier, InputSpec


class Recorder(torch.nn.Module):
    """A network that remembers its input and returns fixed logits."""

    def forward(self, images):
        self.seen = images.clone()
        return torch.zeros(images.shape[0], 4)


def make(spec):
    return Classifier(Recorder(), input_spec=spec, class_names="abcd", name="recorder")


def test_scaling_and_normalisation_match_the_spec():
    spec = InputSpec(channels=3, height=4, width=4, value_range=(0.0, 255.0),
                     mean=(10.0, 20.0, 30.0), std=(2.0, 4.0, 8.0))
    classifier = make(spec)
    images = torch.rand(2, 3, 4, 4)
    classifier(images)
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    torch.testing.assert_close(classifier.network.seen, (images * 255 - mean) / std)


def test_probabilities_are_a_distribution():
    probabilities = make(InputSpec(channels=1, height=2, width=2))(torch.rand(3, 1, 2, 2))
    assert probabilities.dtype == torch.float32
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(3))


def test_resizing_spec_resizes_other_sizes():
    classifier = make(InputSpec(channels=3, height=8, width=8, resize=True))
    classifier(torch.rand(1, 3, 20, 30))
    assert classifier.network.seen.shape == (1, 3, 8, 8)


@pytest.mark.parametrize("shape, message", [
    ((1, 28, 28), r"\(N, C, H, W\)"),
    ((2, 3, 28, 28), "1-channel"),
    ((2, 1, 32, 32), "28x28 images; got 32x32"),
])
def test_fixed_size_spec_refuses_wrong_shapes(shape, message):
    classifier = make(InputSpec(channels=1, height=28, width=28))
    with pytest.raises(InputShapeError, match=message):
        classifier(torch.rand(*shape))
