import sqlite3

import pytest

from evofool.store import SCHEMA_VERSION, ChampionRow, RunStore, StoreError


def row(class_index, genome_id, generation, confidence):
    return ChampionRow(class_index=class_index, genome_id=genome_id, parent_id=genome_id - 1,
                       generation=generation, confidence=confidence, top_k=[(class_index, 0.9)],
                       image=f"class-{class_index}.png", genome_payload=b"J{}")


def test_generations_are_recorded_and_readable_by_another_connection(tmp_path):
    store = RunStore(tmp_path, create=True)
    store.record_generation([row(0, 5, 1, 0.5), row(1, 5, 1, 0.4)], evaluations=10,
                            encoding="cppn")
    store.record_generation([row(0, 9, 2, 0.7)], evaluations=20, encoding="cppn")
    reader = RunStore(tmp_path, read_only=True)
    assert [c["genome_id"] for c in reader.champions()] == [9, 5]
    assert [h["confidence"] for h in reader.history(0)] == [0.5, 0.7]
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
    assert [h["genome_id"] for h in store.history()] == [1]
    assert store.champions()[0]["genome_id"] == 1 and store.genome(2) is None


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
    with pytest.raises(StoreError, match="cannot open"):
        RunStore(tmp_path)


def test_lineage_through_stepping_stones_reaches_generation_zero(tiny_cppn_run):
    """mnist_cppn.yaml draws parents from stepping stones that are often no class's
    champion; their genomes are stored, so every champion's chain is whole."""
    store = RunStore(tiny_cppn_run, read_only=True)
    champion_ids = {row["genome_id"] for row in store.history()}
    through_stones = 0
    for champion in store.champions():
        chain = store.lineage(champion["genome_id"])
        assert chain[-1]["parent_id"] == -1 and chain[-1]["generation"] == 0
        through_stones += sum(link["genome_id"] not in champion_ids for link in chain)
    assert through_stones > 0
