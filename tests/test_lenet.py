import pytest
import torch

from evofool.errors import ModelLoadError
from evofool.models import LeNet
from evofool.models.checkpoint import CheckpointInfo, load_checkpoint, save_checkpoint
from evofool.models.lenet import MNIST_INPUT_SPEC


def test_caffe_shape():
    network = LeNet()
    convolutions = [m for m in network.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in network.modules() if isinstance(m, torch.nn.Linear)]
    assert [(c.out_channels, c.kernel_size) for c in convolutions] == [(20, (5, 5)), (50, (5, 5))]
    assert [(fc.in_features, fc.out_features) for fc in linears] == [(800, 500), (500, 10)]
    assert network(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def save(tmp_path, network):
    info = CheckpointInfo(class_names=tuple("0123456789"), input_spec=MNIST_INPUT_SPEC,
                          test_accuracy=0.5, seed=3, epochs=1)
    path = tmp_path / "lenet.pt"
    save_checkpoint(network, info, path)
    return path


def test_checkpoint_round_trip_keeps_outputs_and_metadata(tmp_path):
    network = LeNet().eval()
    loaded = load_checkpoint(save(tmp_path, network), name="mine")
    images = torch.rand(4, 1, 28, 28)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(images), torch.softmax(network(images), dim=1))
    assert loaded.class_names == tuple("0123456789")
    assert loaded.input_spec == MNIST_INPUT_SPEC


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = save(tmp_path, LeNet())
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="corrupt, truncated"):
        load_checkpoint(path, name="x")


def test_foreign_checkpoint_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ModelLoadError, match="not an evofool classifier checkpoint"):
        load_checkpoint(path, name="x")
