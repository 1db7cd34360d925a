import pytest
import torch

from evofool.errors import InputShapeError, NonFiniteScoresError
from evofool.evaluation.scorer import ImageScorer
from evofool.models import Classifier, InputSpec


@pytest.mark.numerics
def test_chunked_scores_equal_one_at_a_time(random_lenet):
    images = torch.rand(37, 1, 28, 28)
    chunked = ImageScorer(random_lenet, device="cpu", max_batch=8).score(images)
    single = ImageScorer(random_lenet, device="cpu", max_batch=1)
    one_by_one = torch.cat([single.score(image[None]) for image in images])
    assert chunked.dtype == torch.float32 and chunked.shape == (37, 10)
    torch.testing.assert_close(chunked, one_by_one, atol=1e-5, rtol=0)


def test_counts_every_image_scored(random_lenet):
    evaluator = ImageScorer(random_lenet, device="cpu", max_batch=5)
    evaluator.score(torch.rand(12, 1, 28, 28))
    evaluator.score(torch.rand(3, 1, 28, 28))
    assert evaluator.images_scored == 15


def test_empty_batch_gives_empty_scores(random_lenet):
    scores = ImageScorer(random_lenet, device="cpu").score(torch.rand(0, 1, 28, 28))
    assert scores.shape == (0, 10)


class NanNetwork(torch.nn.Module):
    def forward(self, images):
        return torch.full((images.shape[0], 3), float("nan"))


def test_nan_outputs_raise():
    classifier = Classifier(NanNetwork(), input_spec=InputSpec(channels=1, height=4, width=4),
                            class_names="abc", name="nan-net")
    with pytest.raises(NonFiniteScoresError, match="nan-net produced NaN"):
        ImageScorer(classifier, device="cpu").score(torch.rand(2, 1, 4, 4))


def test_wrong_shapes_raise_before_any_work(random_lenet):
    evaluator = ImageScorer(random_lenet, device="cpu")
    with pytest.raises(InputShapeError):
        evaluator.score(torch.rand(4, 3, 28, 28))
    assert evaluator.images_scored == 0


def test_max_batch_must_be_positive(random_lenet):
    with pytest.raises(ValueError, match="max_batch"):
        ImageScorer(random_lenet, device="cpu", max_batch=0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("amp", [False, True])
def test_cuda_scores_match_cpu(random_lenet, amp):
    images = torch.rand(300, 1, 28, 28)
    on_cpu = ImageScorer(random_lenet, device="cpu").score(images)
    on_gpu = ImageScorer(random_lenet, device="cuda", amp=amp).score(images)
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, atol=2e-2 if amp else 1e-5, rtol=0)
