import pytest
from conftest import CONFIGS

from evofool.algorithms.genetic import GeneticSettings
from evofool.encodings.cppn.encoding import CppnSettings
from evofool.encodings.direct import DirectSettings
from evofool.errors import ConfigError
from evofool.n_plus_one.config import load_retrain_config
from evofool.run.config import load_config


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


BASE = "name: t\ngenerations: 5\n"


def test_shipped_configs_load(tmp_path):
    from pathlib import Path

    configs = sorted(Path(__file__).parents[1].glob("configs/*.yaml"))
    assert {c.name for c in configs} >= {"mnist_direct.yaml", "mnist_cppn.yaml", "mnist_ga.yaml"}
    for config in configs:
        if "retrain" in config.name:
            rounds = {"mnist_retrain.yaml": 15, "folder_retrain.yaml": 5}[config.name]
            assert load_retrain_config(config).rounds == rounds
        else:
            load_config(config)


def test_model_may_be_a_list_of_specs(tmp_path):
    path = write(tmp_path, BASE + "model: [a.pt, b.pt]\nevaluator: {combine: mean}\n")
    config = load_config(path)
    assert config.model_specs == ["a.pt", "b.pt"] and config.model_label == "a.pt+b.pt"
    assert load_config(write(tmp_path, BASE)).model_specs == ["mnist-lenet"]


@pytest.mark.parametrize("text, message", [
    ("model: 5\n", "model must be a string"),
    ("model: []\n", "at least one model"),
    ("evaluator: {combine: max}\n", "combine must be one of min, mean"),
    ("algorithm: {classes: []}\n", "algorithm.classes must name at least one class"),
])
def test_bad_model_lists_and_cells(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, BASE + text))


@pytest.mark.parametrize("text, message", [
    ("evolution: {generations: 5, model: x.pt}\n", "set model at the top level"),
    ("evolution: {encoding: {type: cppn}}\n", "no stop condition"),
    ("rounds: 0\n", "rounds must be positive"),
    ("training: {mode: sideways}\n", "training.mode must be one of scratch, finetune"),
    ("garbage: {per_round: 0}\n", "per_round must be positive"),
    ("garbage: {colour: red}\n", "unknown config key 'garbage.colour'"),
])
def test_bad_retrain_configs(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_retrain_config(write(tmp_path, text))


def test_paper_settings_in_the_cppn_config():
    from pathlib import Path

    config = load_config(Path(__file__).parents[1] / "configs" / "mnist_cppn.yaml")
    assert config.algorithm.batch_size == 200 and isinstance(config.encoding, CppnSettings)


def test_sections_pick_their_kind_by_type(tmp_path):
    config = load_config(write(tmp_path, BASE + "encoding: {type: direct, mutation_rate: 0.2}\n"
                                                "algorithm: {type: ga, targets: [3]}\n"))
    assert isinstance(config.encoding, DirectSettings) and config.encoding.mutation_rate == 0.2
    assert isinstance(config.algorithm, GeneticSettings) and config.algorithm.targets == [3]


def test_set_overrides_top_level_and_nested_keys(tmp_path):
    config = load_config(write(tmp_path, BASE), ["seed=7", "generations=11",
                                                 "encoding.max_hidden=4",
                                                 "evaluator.device=cpu"])
    assert (config.seed, config.generations, config.encoding.max_hidden) == (7, 11, 4)
    assert config.evaluator.device == "cpu"


@pytest.mark.parametrize("text, overrides, message", [
    (BASE + "colour: red\n", [], "unknown config key 'colour'"),
    (BASE + "encoding: {type: cppn, max_hiden: 3}\n", [],
     "unknown config key 'encoding.max_hiden'"),
    (BASE, ["seed=abc"], "seed must be an integer"),
    (BASE, ["generations=0"], "generations must be positive"),
    (BASE + "algorithm: {type: map_elites, batch_size: -5}\n", [], "batch_size must be positive"),
    (BASE + "algorithm: {type: ga, population: 0}\n", [], "population must be positive"),
    (BASE + "encoding: {type: dna}\n", [], "encoding.type must be one of direct, cppn"),
    (BASE + "evaluator: {amp: 1}\n", [], "amp must be true or false"),
    (BASE + "encoding: {type: direct, mutation_rate: 1.5}\n", [], "must be in [0, 1]"),
    ("name: t\n", [], "no stop condition"),
    (BASE + "[1, 2]\n", [], "YAML error"),
    (BASE, ["seed"], "--set needs key=value"),
    (BASE, ["wall_seconds=nan"], "wall_seconds must be a finite number, got nan"),
    (BASE, ["stop_when_all_at=.nan"], "stop_when_all_at must be a finite number"),
    (BASE, ["encoding.weight_bound=.inf"], "encoding.weight_bound must be a finite number"),
    (BASE, ["encoding.weight_bound=-1"], "weight_bound must be positive"),
    (BASE, ["encoding.weight_bound=500"], "encoding.weight_bound must be at most 100, got 500"),
    (BASE + "seed: 1\nseed: 2\n", [], "YAML error: duplicate key 'seed'"),
    (BASE + "encoding: {type: cppn, eta: 3, eta: 4}\n", [], "duplicate key 'eta'"),
    (BASE, ["name=../outside"], "name must be one plain file name"),
    (BASE, ["name=/tmp/abs"], "name must be one plain file name"),
    (BASE, ["name=a/b"], "name must be one plain file name"),
    (BASE, ["name=.."], "name must be one plain file name"),
])
def test_mistakes_name_the_key(tmp_path, text, overrides, message):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), overrides)
    assert message in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    path = write(tmp_path, "name: t\ngenerations: 3\nencoding: {type: cppn\nseed: 1\n")
    with pytest.raises(ConfigError, match=rf"^{path}:4:5: YAML error"):
        load_config(path)


def test_a_retrain_config_given_to_run_points_to_retrain():
    with pytest.raises(ConfigError, match="n\\+1 \\(retrain\\) experiment config; run it with "
                       "`evofool retrain"):
        load_config(CONFIGS / "mnist_retrain.yaml")


def test_a_yaml_alias_bomb_is_refused_in_a_short_message(tmp_path):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path = write(tmp_path, "\n".join(levels) + "\nname: *a8\ngenerations: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "more than 100,000 values once its aliases are expanded" in message
    assert len(message) < 300


def test_a_huge_value_is_quoted_briefly(tmp_path):
    path = write(tmp_path, BASE + "seed: [" + ", ".join(["123456789"] * 50000) + "]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "seed must be an integer" in str(caught.value) and len(str(caught.value)) < 300


@pytest.mark.parametrize("overrides, key", [
    (["algorithm.batch_size=1000000000"], "algorithm.batch_size"),
    (["algorithm.brightness_bins=100000", "algorithm.batch_size=100000"],
     "algorithm.brightness_bins"),
    (["encoding.max_hidden=100000"], "algorithm.batch_size"),
])
def test_sizes_that_cannot_fit_are_refused_before_a_run_directory_exists(
        tmp_path, overrides, key, small_lenets, cli):
    run_dir = tmp_path / "run"
    result = cli("run", str(write(tmp_path, BASE)), "--out", str(run_dir), "--quiet",
                 "--set", f"model={small_lenets[0]}", *[f"--set={o}" for o in overrides])
    assert result.returncode == 2 and f"evofool: error: {key}: this search would hold" \
        in result.stderr, result.stderr
    assert not run_dir.exists()


def test_every_config_key_has_help_for_the_generated_reference():
    """The configuration reference (docs) is generated from the settings classes; a key
    without help (the comment on its line or right above it) would show an empty cell."""
    from evofool.api.config_reference import markdown, missing_help

    assert missing_help() == []
    reference = markdown()
    for key in ("`mutation_rate`", "`ray_actors`", "`n+1: held_out`", "`per_round`"):
        assert key in reference
