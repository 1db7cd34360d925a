import torch

from evofool.archive.champions import ChampionArchive


def genomes(*values):
    return {"pixels": torch.tensor(values, dtype=torch.float32).view(-1, 1)}


def add(archive, probabilities, *, ids, evaluations_before=0, generation=0, eligible=None):
    probabilities = torch.tensor(probabilities)
    count = probabilities.shape[0]
    children = genomes(*[float(i) for i in ids])
    return archive.add(children, probabilities, generation=generation,
                       child_ids=torch.tensor(ids), parent_ids=torch.full((count,), -1),
                       evaluations_before=evaluations_before, eligible=eligible)


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
    added = add(archive, [[0.5, 0.6]], ids=[1], generation=1)
    assert added.classes.tolist() == [False, True] and added.cells_taken.tolist() == [1]
    assert archive.genome_id.tolist() == [0, 1] and archive.generation.tolist() == [0, 1]


def test_fooling_cost_counts_evaluations_to_first_0_99():
    archive = ChampionArchive(2, torch.device("cpu"))
    add(archive, [[0.2, 0.8], [0.3, 0.7]], ids=[0, 1], evaluations_before=0)
    add(archive, [[0.1, 0.9], [0.1, 0.995], [0.1, 0.999]], ids=[2, 3, 4], evaluations_before=2)
    assert archive.evaluations_to_threshold.tolist() == [-1, 4]  # 2 before + 2nd child
    add(archive, [[0.1, 0.9999]], ids=[5], evaluations_before=5)
    assert archive.evaluations_to_threshold.tolist() == [-1, 4]  # first time only


def test_add_says_how_many_cells_each_child_took():
    archive = ChampionArchive(3, torch.device("cpu"))
    added = add(archive, [[0.1, 0.05, 0.85], [0.2, 0.01, 0.79], [0.0, 0.0, 0.1]], ids=[0, 1, 2])
    assert added.cells_taken.tolist() == [2, 1, 0]
    added = add(archive, [[0.1, 0.05, 0.85], [0.3, 0.3, 0.3]], ids=[3, 4])
    assert added.cells_taken.tolist() == [0, 2]  # ties keep the champion
    torch.testing.assert_close(added.improvement, torch.tensor([0.0, 0.1 + 0.25]))
    cells = archive.cells()
    assert [(cell.index, cell.genome_id) for cell in cells] == [(0, 4), (1, 4), (2, 0)]
    assert cells[2].confidence == float(torch.tensor(0.85)) and cells[2].top_k[0][0] == 2
    assert [cell.index for cell in archive.cells(torch.tensor([False, True, True]))] == [1, 2]


def test_ineligible_classes_are_not_taken():
    archive = ChampionArchive(2, torch.device("cpu"))
    add(archive, [[0.7, 0.3]], ids=[0], eligible=torch.tensor([[False, True]]))
    assert archive.occupied.tolist() == [False, True]


def test_champions_carry_the_models_top_classes():
    archive = ChampionArchive(3, torch.device("cpu"))
    add(archive, [[0.1, 0.3, 0.6], [0.5, 0.4, 0.1]], ids=[0, 1])
    assert archive.top_classes[2].tolist() == [2, 1, 0]
    assert archive.top_classes[0].tolist() == [0, 1, 2]
    torch.testing.assert_close(archive.top_probabilities[0], torch.tensor([0.5, 0.4, 0.1]))


def test_state_round_trip():
    archive = ChampionArchive(3, torch.device("cpu"))
    add(archive, [[0.1, 0.3, 0.6], [0.5, 0.4, 0.1]], ids=[0, 1])
    copy = ChampionArchive(3, torch.device("cpu"))
    copy.load_state_dict(archive.state_dict())
    for name in ("confidence", "genome_id", "top_classes", "evaluations_to_threshold"):
        assert torch.equal(getattr(copy, name), getattr(archive, name))
    assert torch.equal(copy.genomes["pixels"], archive.genomes["pixels"])


class CountingEncoding:
    """Draws a genome ``v`` as a 2x2 grey image of ``v / 10``, counting what it draws."""

    def __init__(self):
        self.drawn = 0

    def render(self, batch):
        self.drawn += len(batch["pixels"])
        return batch["pixels"].view(-1, 1, 1, 1).expand(-1, 1, 2, 2) / 10


def test_a_genome_that_holds_several_cells_is_drawn_once_into_each_cells_file(tmp_path):
    from evofool.files.images import png_bytes
    from evofool.run.outputs import ChampionImageWriter

    archive = ChampionArchive(4, torch.device("cpu"))
    add(archive, [[0.5, 0.6, 0.7, 0.1], [0.1, 0.1, 0.1, 0.2]], ids=[3, 5])
    encoding = CountingEncoding()
    writer = ChampionImageWriter(tmp_path, encoding, ("a", "b", "c", "d"))
    writer.update(archive)
    files = sorted((tmp_path / "champions").glob("*.png"))
    assert [path.name.split("-")[-1] for path in files] == ["g3.png"] * 3 + ["g5.png"]
    assert encoding.drawn == 2
    assert {path.read_bytes() for path in files[:3]} == {png_bytes(torch.full((1, 2, 2), 0.3))}
    assert files[3].read_bytes() == png_bytes(torch.full((1, 2, 2), 0.5))
