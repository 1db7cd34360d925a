import sqlite3

import numpy as np
import pytest
import torch

from evofool.encodings import CppnEncoding, DirectEncoding
from evofool.encodings.genome_codec import record_from_bytes, record_to_bytes
from evofool.files.images import to_uint8
from evofool.store import SCHEMA_VERSION, Champion, GenomeRow, RunStore, StoreError
from evofool.store.history import keeps_every_genome, milestone_level


def row(class_index, genome_id, generation, confidence):
    return Champion(class_index=class_index, genome_id=genome_id, parent_id=genome_id - 1,
                       generation=generation, confidence=confidence, top_k=[(class_index, 0.9)],
                       image=f"class-{class_index}.png", genome_payload=b"J{}")


def test_generations_are_recorded_and_readable_by_another_connection(tmp_path):
    store = RunStore(tmp_path, create=True)
    store.record_generation([row(0, 5, 1, 0.5), row(1, 5, 1, 0.4)], evaluations=10,
                            encoding="cppn")
    store.record_generation([row(0, 9, 2, 0.7)], evaluations=20, encoding="cppn")
    reader = RunStore(tmp_path, read_only=True)
    assert [c.genome_id for c in reader.champions()] == [9, 5]
    assert [h.confidence for h in reader.history(0)] == [0.5, 0.7]
    assert reader.genome(9) == ("cppn", b"J{}")
    assert reader.get_meta("schema_version") == SCHEMA_VERSION
    with pytest.raises(sqlite3.OperationalError):
        reader.set_meta(status="tampered")  # read-only really is read-only
    assert reader.integrity() == "ok"


def test_rewind_forgets_generations_after_the_checkpoint(tmp_path):
    store = RunStore(tmp_path, create=True)
    store.record_generation([row(0, 1, 0, 0.5)], evaluations=10, encoding="direct")
    store.record_generation([row(0, 2, 3, 0.8)], evaluations=40, encoding="direct")
    store.rewind(2, [row(0, 1, 0, 0.5)])
    assert [h.genome_id for h in store.history()] == [1]
    assert store.champions()[0].genome_id == 1 and store.genome(2) is None


def pixels_row(class_index, genome_id, generation, confidence, seed=None):
    pixels = np.random.default_rng(genome_id if seed is None else seed).random(
        (3, 8, 8), dtype=np.float32)
    return Champion(class_index=class_index, genome_id=genome_id, parent_id=genome_id - 1,
                       generation=generation, confidence=confidence, top_k=[],
                       image="x.png", genome_payload=record_to_bytes(pixels, "array"))


def test_milestones_are_whole_nines_up_to_six():
    levels = [milestone_level(p) for p in (0.0, 0.89, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0)]
    assert levels == [0, 0, 1, 1, 2, 3, 4, 6]


def test_auto_thins_only_large_array_genomes():
    imagenet_direct = DirectEncoding(3, 256, 256)  # 786 KB arrays
    assert not keeps_every_genome("auto", imagenet_direct)
    assert keeps_every_genome("auto", DirectEncoding(1, 28, 28))
    assert keeps_every_genome("auto", CppnEncoding(3, 256, 256, max_hidden=500))  # JSON records
    assert keeps_every_genome("all", imagenet_direct)
    assert not keeps_every_genome("milestones", CppnEncoding(1, 28, 28))


def test_milestones_keep_exact_champions_and_8bit_milestones_only(tmp_path):
    store = RunStore(tmp_path, create=True)
    record = {"evaluations": 1, "encoding": "direct", "keep_every_genome": False}
    store.record_generation([pixels_row(0, 1, 0, 0.2), pixels_row(1, 1, 0, 0.3)],
                            stepping_stones=[GenomeRow(genome_id=7, parent_id=-1, generation=0,
                                                       genome_payload=b"A...")], **record)
    store.record_generation([pixels_row(0, 2, 1, 0.95)], **record)  # crosses 0.9
    assert store.genome(1) is not None  # still class 1's champion: exact
    store.record_generation([pixels_row(0, 3, 2, 0.96), pixels_row(1, 4, 2, 0.5)], **record)
    assert store.genome(1) is None and store.genome(3) is not None  # not a milestone
    milestone = record_from_bytes(store.genome(2)[1])  # replaced, kept as 8 bits
    exact = record_from_bytes(pixels_row(0, 2, 1, 0.95).genome_payload)
    assert milestone.dtype == np.float32 and not np.array_equal(milestone, exact)
    assert np.array_equal(to_uint8(torch.from_numpy(milestone)[None]),
                          to_uint8(torch.from_numpy(exact)[None]))
    assert store.genome(7) is None  # a stepping stone keeps its lineage only
    assert [link["image_kept"] for link in store.lineage(3)] == [True, True, False]
    assert [h.image_kept for h in store.history(0)] == [False, True, True]


def test_rewind_restores_champions_a_later_generation_thinned(tmp_path):
    store = RunStore(tmp_path, create=True)
    record = {"evaluations": 1, "encoding": "direct", "keep_every_genome": False}
    store.record_generation([pixels_row(0, 1, 0, 0.2)], **record)
    store.record_generation([pixels_row(0, 2, 3, 0.3)], **record)
    assert store.genome(1) is None
    store.rewind(2, [pixels_row(0, 1, 0, 0.2)])
    assert store.genome(1)[1] == pixels_row(0, 1, 0, 0.2).genome_payload


def test_unknown_schema_version_is_refused(tmp_path):
    store = RunStore(tmp_path, create=True)
    store.set_meta(schema_version=SCHEMA_VERSION + 1)
    store.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        RunStore(tmp_path)


def test_a_directory_without_a_store_is_not_a_run(tmp_path):
    with pytest.raises(StoreError, match="is not an evofool run"):
        RunStore(tmp_path)


def test_a_corrupt_database_is_a_clear_error(tmp_path):
    (tmp_path / "run.sqlite").write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(StoreError, match="is damaged \\(file is not a database"):
        RunStore(tmp_path)


def test_lineage_through_stepping_stones_reaches_generation_zero(tiny_cppn_run):
    """mnist_cppn.yaml draws parents from stepping stones that are often no class's
    champion; their genomes are stored, so every champion's chain is whole."""
    store = RunStore(tiny_cppn_run, read_only=True)
    champion_ids = {row.genome_id for row in store.history()}
    through_stones = 0
    for champion in store.champions():
        chain = store.lineage(champion.genome_id)
        assert chain[-1]["parent_id"] == -1 and chain[-1]["generation"] == 0
        through_stones += sum(link["genome_id"] not in champion_ids for link in chain)
    assert through_stones > 0
