import torch

from inferenceguard.service.engine.sampling import Sampler, make_generator


def draw(sampler: Sampler, logits: torch.Tensor, seed: int = 0, rows: int = 2000) -> torch.Tensor:
    return sampler(logits.expand(rows, -1), make_generator(seed, torch.device("cpu")))


def test_temperature_zero_is_argmax() -> None:
    logits = torch.tensor([[0.1, 3.0, 2.9]])
    assert draw(Sampler(temperature=0), logits).unique().tolist() == [1]


def test_top_k_keeps_only_the_k_most_likely() -> None:
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0]])
    assert set(draw(Sampler(top_k=2), logits).unique().tolist()) == {0, 1}


def test_top_p_keeps_the_smallest_set_reaching_the_mass() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert set(draw(Sampler(top_p=0.75), logits).unique().tolist()) == {0, 1}
    assert set(draw(Sampler(top_p=0.1), logits).unique().tolist()) == {0}


def test_same_seed_same_draws_and_other_seed_other_draws() -> None:
    logits = torch.zeros((1, 50))
    assert torch.equal(draw(Sampler(), logits, seed=7), draw(Sampler(), logits, seed=7))
    assert not torch.equal(draw(Sampler(), logits, seed=7), draw(Sampler(), logits, seed=8))
