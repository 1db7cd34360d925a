import torch

from evofool.archive import ChampionArchive


def genomes(*values):
    return {"pixels": torch.tensor(values, dtype=torch.float32).view(-1, 1)}


def add(archive, probabilities, *, ids, evaluations_before=0, generation=0, children=None):
    probabilities = torch.tensor(probabilities)
    count = probabilities.shape[0]
    children = children or genomes(*[float(i) for i in ids])
    return archive.add(children, probabilities, generation=generation,
                       child_ids=torch.tensor(ids), parent_ids=torch.full((count,), -1),
                       evaluations_before=evaluations_before)


def test_one_child_takes_every_class_where_it_is_best_not_only_its_argmax():
    archive = ChampionArchive(3, torch.device("cpu"))
    # Noise images all look like class 2 to the model, yet each class gets a champion.
    add(archive, [[0.10, 0.05, 0.85], [0.20, 0.01, 0.79]], ids=[0, 1])
    assert archive.occupied.all()
    assert archive.genome_id.tolist() == [1, 0, 0]
    torch.testing.assert_close(archive.confidence, torch.tensor([0.20, 0.05, 0.85]))
    assert archive.genomes["pixels"].view(-1).tolist() == [1.0, 0.0, 0.0]


def test_only_strictly_better_children_replace():
    archive = ChampionArchive(2, torch.device("cpu"))
    add(archive, [[0.5, 0.5]], ids=[0])
    improved = add(archive, [[0.5, 0.6]], ids=[1], generation=1)
    assert improved.tolist() == [False, True]
    assert archive.genome_id.tolist() == [0, 1] and archive.generation.tolist() == [0, 1]


def test_fooling_cost_counts_evaluations_to_first_0_99():
    archive = ChampionArchive(2, torch.device("cpu"))
    add(archive, [[0.2, 0.8], [0.3, 0.7]], ids=[0, 1], evaluations_before=0)
    add(archive, [[0.1, 0.9], [0.1, 0.995], [0.1, 0.999]], ids=[2, 3, 4], evaluations_before=2)
    assert archive.evaluations_to_threshold.tolist() == [-1, 4]  # 2 before + 2nd child
    add(archive, [[0.1, 0.9999]], ids=[5], evaluations_before=5)
    assert archive.evaluations_to_threshold.tolist() == [-1, 4]  # first time only


def test_negative_entries_never_win():
    archive = ChampionArchive(2, torch.device("cpu"))
    add(archive, [[-1.0, 0.3]], ids=[0])
    assert archive.occupied.tolist() == [False, True]
