"""CMA-ME's emitters: what their children are, what they learn, what a checkpoint keeps."""

import io

import pytest
import torch
from conftest import FAKE_SHAPE

from evofool.algorithms.cma_me import CmaMapElites, CmaMeSettings
from evofool.encodings import ENCODINGS, encoding_for_shape
from evofool.errors import ConfigError
from evofool.evaluation import LocalEvaluator
from evofool.evaluation.scorer import ImageScorer
from evofool.randomness import RunRandomness
from evofool.run.config import config_from_dict

SETTINGS = CmaMeSettings(batch_size=24, emitters=2, emitter_share=0.5, sigma=0.1)


def build(fake_classifier, seed=0, settings=SETTINGS) -> CmaMapElites:
    encoding = encoding_for_shape(ENCODINGS["cppn"].settings(max_hidden=6), FAKE_SHAPE)
    scorer = ImageScorer(fake_classifier, device="cpu", max_batch=64, engine="torch")
    return CmaMapElites(settings, encoding=encoding,
                        evaluator=LocalEvaluator(encoding, scorer), rng=RunRandomness(seed))


def test_emitter_children_keep_their_parents_topology_and_move_every_weight(fake_classifier):
    search = build(fake_classifier)
    search.step()
    proposal = search.ask()
    emitted = {key: value[12:] for key, value in proposal.genomes.items()}
    for index, emitter in enumerate(search.emitters):
        rows = slice(6 * index, 6 * index + 6)
        for key in ("alive", "activation", "order", "connected"):
            assert torch.equal(emitted[key][rows], emitter.parent[key].expand_as(
                emitted[key][rows]))
        assert (proposal.parent_ids[12:][rows] == emitter.parent_id).all()
        connected = emitter.parent["connected"][0]
        moved = emitted["weight"][rows][:, connected] != emitter.parent["weight"][0][connected]
        assert moved.all()  # a CMA-ES sample moves every weight, not a tenth of them
        assert emitted["weight"][rows].abs().max() <= search.encoding.weight_bound


def test_a_strategy_moves_towards_kept_children_and_restarts_when_none_are(fake_classifier):
    search = build(fake_classifier)
    outcomes = []
    tell = search.tell
    search.tell = lambda proposal, outcome: (outcomes.append(outcome), tell(proposal, outcome))
    search.step()
    persisted = restarted = 0
    for _ in range(30):
        emitters = list(search.emitters)
        means = [None if emitter is None else emitter.strategy.mean.copy()
                 for emitter in emitters]
        search.step()
        taken = outcomes[-1].added.cells_taken[12:].view(2, 6)  # the emitters' children
        for index, emitter in enumerate(emitters):
            if emitter is None or means[index] is None:
                continue  # started this generation: nothing learnt yet
            if taken[index].any():
                assert search.emitters[index] is emitter
                assert (emitter.strategy.mean != means[index]).any()
                persisted += 1
            else:
                assert search.emitters[index] is None  # restarts from an elite next time
                restarted += 1
    assert persisted and restarted


def test_a_checkpoint_keeps_the_strategies_without_pickles(fake_classifier):
    whole, first = build(fake_classifier), build(fake_classifier)
    for _ in range(3):
        whole.step()
        first.step()
    state = first.state_dict()
    assert any(entry is not None for entry in state["emitters"])
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    resumed = build(fake_classifier, seed=5)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))  # as checkpoints load
    for _ in range(4):
        whole.step()
        resumed.step()
    assert torch.equal(whole.archive.fitness, resumed.archive.fitness)
    assert torch.equal(whole.archive.genome_id, resumed.archive.genome_id)
    with pytest.raises(ConfigError, match="emitters cannot change on resume"):
        build(fake_classifier, settings=CmaMeSettings(batch_size=24, emitters=3)
              ).load_state_dict(state)


def test_configs_it_cannot_serve_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="needs encoding.type cppn, not direct"):
        config_from_dict({"generations": 1, "encoding": {"type": "direct"},
                          "algorithm": {"type": "cma_me"}})
    with pytest.raises(ConfigError, match="get 2 children each"):
        config_from_dict({"generations": 1, "encoding": {"type": "cppn"},
                          "algorithm": {"type": "cma_me", "batch_size": 40, "emitters": 10}})
