import pytest

from evofool.config import ConfigError, CppnSettings, DirectSettings, GeneticSettings, load_config


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
        load_config(config)


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
    (BASE + "[1, 2]\n", [], "cannot read config"),
    (BASE, ["seed"], "--set needs key=value"),
])
def test_mistakes_name_the_key(tmp_path, text, overrides, message):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), overrides)
    assert message in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")
