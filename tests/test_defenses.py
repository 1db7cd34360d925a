"""Input defences: each on tiny data, against the Adversarial Robustness Toolbox where it
has the same defence, under the contract every registered defence keeps, and in runs."""

import json
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import CONFIGS, FAKE_SHAPE, browser_client

from evofool.defenses import DEFENSES, DefenseChain, defense_settings, image_keys
from evofool.errors import ConfigError
from evofool.evaluation.scorer import ImageScorer
from evofool.models import InputSpec
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.run.stored import StoredRun

GREY, COLOUR = InputSpec(1, 28, 28), InputSpec(*FAKE_SHAPE)


def eight_bit(*shape, seed=0):
    """Images whose values are exactly k / 255."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=generator).float() / 255


def transformed(spec, images, keys=None, input_spec=GREY):
    return DefenseChain([spec], input_spec).defenses[0].transform(images, keys)


def test_noise_average_with_one_sample_and_no_noise_is_the_identity(fake_classifier):
    images = torch.rand(6, *FAKE_SHAPE)
    plain = ImageScorer(fake_classifier, device="cpu", engine="torch").score(images)
    defended = ImageScorer(fake_classifier, device="cpu", engine="torch",
                           defenses=["noise_average:sigma=0,samples=1"])
    assert torch.equal(defended.score(images, image_keys(0, 0, 6)), plain)


def test_jpeg_at_quality_100_is_near_the_identity():
    images = eight_bit(4, 1, 28, 28)
    assert (transformed("jpeg:quality=100", images) - images).abs().mean() < 0.01
    assert (transformed("jpeg:quality=10", images) - images).abs().mean() > 0.05


def test_bit_depth_8_leaves_8_bit_images_exactly_as_they_are():
    images = eight_bit(3, 3, 12, 12)
    assert torch.equal(transformed("bit_depth:bits=8", images, input_spec=COLOUR), images)
    assert transformed("bit_depth:bits=1", images, input_spec=COLOUR).unique().tolist() == [0, 1]


@pytest.mark.parametrize("window", [2, 3, 5])
def test_median_equals_art_spatial_smoothing(window):
    preprocessor = pytest.importorskip("art.defences.preprocessor")
    images = torch.rand(3, 3, 12, 11)
    art = preprocessor.SpatialSmoothing(window_size=window, channels_first=True,
                                        clip_values=(0.0, 1.0))
    expected, _ = art(images.numpy())
    ours = transformed(f"median:window={window}", images, input_spec=COLOUR)
    assert torch.equal(ours, torch.from_numpy(expected))


@pytest.mark.parametrize("bits", [1, 3, 5])
def test_bit_depth_equals_art_feature_squeezing(bits):
    """The same level for every value; ART divides in float64, so the value itself may
    differ by the last float32 bit."""
    preprocessor = pytest.importorskip("art.defences.preprocessor")
    images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(bits))
    expected, _ = preprocessor.FeatureSqueezing(clip_values=(0.0, 1.0), bit_depth=bits)(
        images.numpy())
    ours, levels = transformed(f"bit_depth:bits={bits}", images), 2 ** bits - 1
    assert torch.equal((ours.double() * levels).round(),
                       (torch.from_numpy(expected) * levels).round())
    torch.testing.assert_close(ours, torch.from_numpy(expected).float(), atol=1e-7, rtol=0)


@pytest.mark.parametrize("spec", [GREY, COLOUR])
def test_jpeg_equals_art_jpeg_compression(spec):
    """ART truncates to bytes and we round, so both get images that are bytes already
    (ART as 0..255, as its clip_values allow)."""
    preprocessor = pytest.importorskip("art.defences.preprocessor")
    images = eight_bit(3, *spec.shape)
    art = preprocessor.JpegCompression(clip_values=(0, 255), quality=60, channels_first=True)
    expected, _ = art((images * 255).round().numpy())
    ours = transformed("jpeg:quality=60", images, input_spec=spec)
    assert torch.equal((ours * 255).round(), torch.from_numpy(expected).float())


def test_grayscale_gives_each_channel_the_luma():
    images = torch.rand(2, *FAKE_SHAPE)
    grey = transformed("grayscale", images, input_spec=COLOUR)
    luma = 0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]
    for channel in range(3):
        torch.testing.assert_close(grey[:, channel], luma)


def small_settings(name: str):
    return DEFENSES[name].settings(**({"samples": 3} if name == "noise_average" else {}))


@pytest.mark.parametrize("name", DEFENSES.names())
def test_every_defence_keeps_the_contract(name):
    """Copies sample-major in [0, 1], the input untouched, the same copies for the same keys
    however a batch is cut, and other copies for other keys where it is random."""
    spec = InputSpec(3, 10, 10)
    defense = DefenseChain([small_settings(name)], spec).defenses[0]
    images = torch.rand(5, 3, 12, 12)
    before = images.clone()
    keys = image_keys(3, 7, 5)
    copies = defense.transform(images, keys)
    assert torch.equal(images, before)
    assert copies.shape[:2] == (defense.samples * 5, 3)
    assert bool(torch.isfinite(copies).all()) and copies.min() >= 0 and copies.max() <= 1
    halves = [defense.transform(images[:2], keys[:2]), defense.transform(images[2:], keys[2:])]
    grouped = torch.cat([part.view(defense.samples, -1, *copies.shape[1:]) for part in halves],
                        dim=1)
    assert torch.equal(grouped.flatten(0, 1), copies)
    if defense.random:
        assert not torch.equal(defense.transform(images, image_keys(4, 7, 5)), copies)


def test_chained_defences_average_over_every_copy():
    chain = DefenseChain(["ten_crop", "noise_average:sigma=0.2,samples=3"], InputSpec(1, 8, 8))
    assert chain.samples == 30 and chain.random
    images = torch.rand(4, 1, 10, 10)
    seen = []

    def classify(copies):
        seen.append(copies.shape)
        return copies.flatten(1)[:, :2]

    averaged = chain.probabilities(images, image_keys(0, 1, 4), classify)
    assert seen == [(120, 1, 8, 8)] and averaged.shape == (4, 2)
    with pytest.raises(ValueError, match="one key per image"):
        chain.probabilities(images, None, classify)


@pytest.mark.parametrize("spec, problem", [
    ("blur", "unknown defence 'blur'"), ("jpeg:quality=0", "quality must be in 1..100"),
    ("median:window=1", "window must be in 2..9"), ("jpeg:strength=3", "unknown config key"),
    ("noise_average:sigma=-1", "must not be negative"), ("jpeg:75", "is not parameter=value"),
    ("jpeg:quality=[", "cannot read the value")])
def test_a_bad_defence_is_one_line_naming_it(spec, problem):
    with pytest.raises(ConfigError, match=problem):
        defense_settings(spec)


@pytest.mark.parametrize("defense, problem", [
    ("grayscale", "grayscale needs 3-channel images; the model takes 1"),
    ("snow", "unknown defence 'snow'"), ("bit_depth:bits=9", "bits must be in 1..8")])
def test_a_run_with_a_bad_defence_exits_2_and_writes_nothing(tmp_path, small_lenets, defense,
                                                            problem):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "evofool", "run", str(CONFIGS / "mnist_direct.yaml"), "--out",
         str(out), "--set", f"model={small_lenets[0]}", "--set", "generations=1",
         "--set", f"evaluator.defenses=['{defense}']"], capture_output=True, text=True)
    assert result.returncode == 2 and problem in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("config, extra, problem", [
    ("mnist_direct.yaml", ["evaluator.screen={engine: torch-bf16}"], "cannot be combined"),
    ("mnist_ascent.yaml", [], "have no gradient")])
def test_what_cannot_follow_a_defence_refuses_it(config, extra, problem):
    with pytest.raises(ConfigError, match=problem):
        load_config(CONFIGS / config, ["evaluator.defenses=[jpeg]", *extra])


@pytest.mark.parametrize("config, engine", [
    ("mnist_direct.yaml", "torch"), ("mnist_cppn.yaml", "torch"), ("mnist_ga.yaml", "torch"),
    ("mnist_direct.yaml", "onnxruntime")])
def test_champions_hold_their_defended_confidence(tmp_path, small_lenets, config, engine):
    """Fitness is the defended classifier's: each stored champion, rendered again and
    scored through the same defences in torch, gives its confidence (within the engine's
    tolerance), and the undefended score differs."""
    if engine == "onnxruntime":
        pytest.importorskip("onnxruntime")
    defenses = ["bit_depth:bits=2", "jpeg:quality=50"]
    overrides = [f"model={small_lenets[0]}", "generations=3", f"evaluator.engine={engine}",
                 f"evaluator.defenses={json.dumps(defenses)}"]
    if config != "mnist_ga.yaml":
        overrides.append("algorithm.batch_size=20")
    EvolutionJob.start(load_config(CONFIGS / config, overrides), tmp_path / "run",
                       progress=False).run()
    run = StoredRun(tmp_path / "run")
    champions = run.champions()
    images = run.render([champion.genome_id for champion in champions])
    classes = torch.tensor([champion.class_index for champion in champions])
    model = load_config(CONFIGS / config, overrides).model_specs[0]
    from evofool.models import load_classifier
    classifier = load_classifier(model)
    defended = ImageScorer(classifier, device="cpu", engine="torch", defenses=defenses)
    plain = ImageScorer(classifier, device="cpu", engine="torch")
    stored = torch.tensor([champion.confidence for champion in champions])
    rescored = defended.score(images).gather(1, classes.view(-1, 1)).squeeze(1)
    torch.testing.assert_close(rescored, stored, atol=1e-5, rtol=0)
    undefended = plain.score(images).gather(1, classes.view(-1, 1)).squeeze(1)
    assert (undefended - stored).abs().max() > 1e-3
    run.close()


def test_a_run_through_noise_averaging_resumes_exactly(tmp_path, small_lenets):
    """The noise of each child is keyed by the run's seed, its generation and its place,
    so stopping and resuming draws what the uninterrupted run drew."""
    overrides = [f"model={small_lenets[0]}", "evaluator.engine=torch", "algorithm.batch_size=30",
                 "evaluator.defenses=['noise_average:sigma=0.3,samples=4']"]
    config = load_config(CONFIGS / "mnist_direct.yaml", [*overrides, "generations=6"])
    EvolutionJob.start(config, tmp_path / "whole", progress=False).run()
    EvolutionJob.start(load_config(CONFIGS / "mnist_direct.yaml", [*overrides, "generations=3"]),
                       tmp_path / "parts", progress=False).run()
    EvolutionJob.resume(tmp_path / "parts", ["generations=6"], progress=False).run()
    whole, parts = (json.loads((tmp_path / name / "summary.json").read_text())["classes"]
                    for name in ("whole", "parts"))
    assert whole == parts
    assert (tmp_path / "whole" / "genomes.npz").read_bytes() == (
        tmp_path / "parts" / "genomes.npz").read_bytes()


def test_noise_keys_depend_on_seed_generation_and_place():
    keys = image_keys(0, 5, 10)
    assert len(set(keys)) == 10 and keys[4:] == image_keys(0, 5, 6, first=4)
    assert not set(keys) & set(image_keys(1, 5, 10)) and not set(keys) & set(image_keys(0, 6, 10))


def test_ten_crop_key_keeps_working():
    config = load_config(CONFIGS / "imagenet_cppn_faithful.yaml", ["evaluator.ten_crop=true"])
    assert [item.type for item in config.evaluator.defense_chain] == ["ten_crop"]
    both = load_config(CONFIGS / "mnist_direct.yaml",
                       ["evaluator.ten_crop=true", "evaluator.defenses=[jpeg]"])
    assert [item.type for item in both.evaluator.defense_chain] == ["ten_crop", "jpeg"]
    assert len(both.evaluator.defenses) == 1  # what the run records stays as written


def test_defend_scores_a_runs_images_and_the_browser_shows_them(
        cli, trained_lenet, tiny_cppn_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_cppn_run, run_dir)
    result = cli("defend", trained_lenet["path"], "--fooling", str(run_dir), "--defenses",
                 "noise_average:sigma=0.5,samples=4", "bit_depth:bits=1", "--min-confidence",
                 "0.5", "--natural-images", "500", "--detect")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.splitlines()[-1])
    rows = printed["rows"]
    assert [row["defense"] for row in rows] == [
        "none", "noise_average:sigma=0.5,samples=4", "bit_depth:bits=1"]
    none, noisy, _ = rows
    assert none["share_at_0.5"] == 1.0  # chosen at >= 0.5 (as 8-bit images)
    assert noisy["median_confidence"] < none["median_confidence"]
    assert noisy["clean_accuracy"] < none["clean_accuracy"] <= 1
    assert [row["detector"] for row in printed["detection"]] == ["feature_squeezing"]
    assert 0 <= printed["detection"][0]["AUROC"] <= 1
    table = (run_dir / "defend" / "defend.csv").read_text().splitlines()
    assert table[0] == ("defense,fooling_set,images,share_at_0.99,share_at_0.5,"
                        "median_confidence,clean_accuracy") and len(table) == 4
    client = browser_client([run_dir])
    shown = client.get("/api/runs/run").json()["defend"]
    assert shown["rows"] == rows and client.get(shown["heatmap"]).content[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, problem", [
    (["--defenses", "blur"], "unknown defence 'blur'"),
    (["--defenses", "grayscale"], "grayscale needs 3-channel images"),
    (["--defenses", "jpeg:quality=101"], "quality must be in 1..100"),
    (["--natural-images", "0"], "(--natural-images) must be positive")])
def test_defend_errors_are_one_line_and_write_nothing(cli, small_lenets, tmp_path, args,
                                                     problem):
    out = tmp_path / "out"
    result = cli("defend", str(small_lenets[0]), "--fooling", str(tmp_path), "--out", str(out),
                 *args)
    assert result.returncode == 2 and problem in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
