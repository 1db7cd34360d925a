"""The n+1 experiment for models evofool cannot build: torchvision, timm and TorchScript
networks get their garbage output by widening their output layer, each round is saved as
round 0's model widened, and what cannot serve is refused in one line."""

import csv
import json

import pytest
import torch
from conftest import RETRAIN_CONFIG as CONFIG
from conftest import rgb_folder

from evofool.errors import ModelLoadError
from evofool.models import load_classifier
from evofool.models.checkpoint import CheckpointInfo, save_checkpoint
from evofool.models.imagenet import imagenet_class_names
from evofool.models.output_layer import output_layer, widen_output
from evofool.store.retrain_layout import round_model_path

# three ImageNet classes, so a 1000-class model's natural images can be a folder of them
IMAGENET_FOLDERS = tuple(imagenet_class_names()[index] for index in (1, 285, 967))


def _scripted(classifier, path):
    """``classifier``'s network as a TorchScript archive with its sidecar."""
    torch.jit.save(torch.jit.script(classifier.network), str(path))
    path.with_suffix(".json").write_text(json.dumps({
        "input_spec": classifier.input_spec.to_dict(),
        "class_names": list(classifier.class_names)}))
    return path


def _widened_and_reloaded(classifier, base, path):
    network = widen_output(classifier.network, classifier.num_classes + 1)
    info = CheckpointInfo(class_names=(*classifier.class_names, "garbage"),
                          input_spec=classifier.input_spec, test_accuracy=None, seed=None,
                          epochs=None)
    save_checkpoint(network, info, path, base=base)
    return network, load_classifier(str(path))


@pytest.mark.parametrize("spec", ["torchvision:mobilenet_v3_small", "timm:mobilenetv3_small_050",
                                  "torchscript"])
def test_a_widened_model_reloads_from_its_checkpoint_without_downloading(spec, tmp_path,
                                                                         monkeypatch):
    """The checkpoint holds every weight; the base gives only the architecture, so a
    pretrained base's weights are never fetched."""
    if spec == "torchscript":
        spec = str(_scripted(load_classifier("timm:mobilenetv3_small_050@random"),
                             tmp_path / "scripted.pt"))
        classifier = load_classifier(spec)
    else:
        classifier = load_classifier(f"{spec}@random")
    classifier.network.eval()

    def no_download(*args, **kwargs):
        raise AssertionError("a widened checkpoint's base downloaded weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    torch.manual_seed(1)
    network, reloaded = _widened_and_reloaded(classifier, spec, tmp_path / "widened.pt")
    assert reloaded.num_classes == 1001 and reloaded.class_names[-1] == "garbage"
    images = torch.rand(2, 3, 224, 224)
    with torch.inference_mode():
        expected = torch.softmax(classifier.logits_at_model_size(images), dim=-1)
        assert torch.equal(reloaded(images), expected)
    assert type(reloaded.network) is type(network)


def test_widening_keeps_every_output_and_a_widened_base_is_refused(tmp_path):
    """The old rows are kept bitwise; the old outputs only to rounding, since a wider
    matrix product may take another kernel path (it does under MKL_CBWR=AVX2)."""
    classifier = load_classifier("torchvision:mobilenet_v3_small@random")
    layer = output_layer(classifier.network)
    weight, bias = layer.weight.detach().clone(), layer.bias.detach().clone()
    images = torch.rand(2, 3, 224, 224)
    with torch.inference_mode():
        before = classifier.logits(images)
        widen_output(classifier.network, 1003)
        after = classifier.network(torch.addcmul(classifier._shift, images, classifier._scale))
    assert torch.equal(layer.weight[:1000], weight) and torch.equal(layer.bias[:1000], bias)
    assert after.shape == (2, 1003) and torch.allclose(after[:, :1000], before, atol=1e-5)
    assert layer.out_features == 1003
    with pytest.raises(ValueError, match="more than 10"):
        widen_output(classifier.network, 10)
    first = tmp_path / "first.pt"
    _widened_and_reloaded(load_classifier("torchvision:mobilenet_v3_small@random"),
                          "torchvision:mobilenet_v3_small", first)
    with pytest.raises(ModelLoadError, match="cannot be another's base"):
        _widened_and_reloaded(load_classifier(str(first)), str(first), tmp_path / "second.pt")


def test_random_weights_are_the_same_every_load():
    first, second = (load_classifier("torchvision:mobilenet_v3_small@random") for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(),
                                                  second.state_dict().values(), strict=True))


def _retrain(cli, directory, model, data, *extra):
    return cli("retrain", str(CONFIG), "--out", str(directory), "--quiet",
               *[f"--set={override}" for override in (
                   f"model={model}", f"data={data}", "rounds=1", "evolution.generations=4",
                   "evolution.algorithm.batch_size=20", "training.epochs=2",
                   "training.mode=finetune", "training.layers=head", "garbage.per_round=12",
                   "held_out.detectors=[msp, energy]",
                   "evolution.evaluator.engine=torch",  # no engine timing: not the subject
                   *extra)])


def _rows(directory):
    with open(directory / "rounds.csv") as handle:
        return list(csv.DictReader(handle))


def test_a_torchscript_model_gets_a_garbage_output_and_only_its_head_learns(tmp_path, cli):
    data = rgb_folder(tmp_path / "rgb")
    trained = cli("train", "small-cnn", "--data", str(data), "--out", str(tmp_path / "cnn.pt"),
                  "--size", "16", "--epochs", "15")
    assert trained.returncode == 0, trained.stderr
    scripted = _scripted(load_classifier(str(tmp_path / "cnn.pt")), tmp_path / "scripted.pt")
    result = _retrain(cli, tmp_path / "exp", scripted, data, "garbage.threshold=0.4")
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path / "exp")
    assert int(rows[0]["garbage_added"]) > 0 and float(rows[1]["test_accuracy"]) > 0.8
    round_1 = load_classifier(str(round_model_path(tmp_path / "exp", 1)))
    assert round_1.class_names == ("blue", "green", "red", "garbage")
    assert isinstance(round_1.network, torch.jit.ScriptModule)
    before, after = torch.jit.load(str(scripted)).state_dict(), round_1.network.state_dict()
    kept = {name for name, value in before.items() if torch.equal(value, after[name])}
    assert set(before) - kept == {"classifier.2.weight", "classifier.2.bias"}
    assert after["classifier.2.weight"].shape == (4, 128)


def test_a_torchvision_model_is_retrained_on_a_folder_of_some_of_its_classes(tmp_path, cli):
    """1000 ImageNet classes, natural images of three of them (by name): evolution targets
    every class, the garbage output is the 1001st, and training sees normalised images."""
    data = rgb_folder(tmp_path / "some", per_class=10, names=IMAGENET_FOLDERS)
    result = _retrain(cli, tmp_path / "exp", "torchvision:mobilenet_v3_small@random", data,
                      "garbage.threshold=0.001", "training.epochs=1")
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path / "exp")
    assert [row["round"] for row in rows] == ["0", "1"] and int(rows[0]["garbage_added"]) > 0
    round_1 = load_classifier(str(round_model_path(tmp_path / "exp", 1)))
    assert round_1.num_classes == 1001 and round_1.class_names[285] == IMAGENET_FOLDERS[1]
    assert float(rows[1]["earlier_garbage_share"]) > 0.5  # it learned the garbage it saw


def test_models_the_experiment_cannot_retrain_are_refused_in_one_line(tmp_path, cli):
    data = rgb_folder(tmp_path / "some", per_class=5, names=IMAGENET_FOLDERS)
    cases = [
        ("torchvision:squeezenet1_0@random", [], "last linear layer, and it has none"),
        ("torchvision:mobilenet_v3_small@random", ["training.mode=scratch",
                                                   "training.layers=all"],
         "--set training.mode=finetune"),
    ]
    scripted = _scripted(load_classifier("timm:mobilenetv3_small_050@random"),
                         tmp_path / "scripted.pt")
    cases.append((scripted, ["held_out.detectors=[msp, mahalanobis]"],
                  "mahalanobis reads the features"))
    for model, extra, message in cases:
        result = _retrain(cli, tmp_path / "exp", model, data, *extra)
        assert result.returncode != 0 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "exp").exists()
