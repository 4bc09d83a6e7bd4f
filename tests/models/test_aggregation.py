"""Layer aggregation modules: hand-computed outputs, the wrapper, config and optimiser wiring."""

import math

import pytest
import torch

from xstilts.config import TrainingConfig, parse_config
from xstilts.errors import XstiltsError
from xstilts.models.aggregation import (
    LayerAggregatingEncoder,
    LayerAttention,
    ScalarMix,
    build_aggregation,
)
from xstilts.models.encoder import load_encoder
from xstilts.models.multitask import MultiTaskModel
from xstilts.models.tiny_random import ensure_tiny_random
from xstilts.train.optim import build_optimizer

# Three hidden states (embeddings, layer 1, layer 2) of one token, width 2.
H = [torch.tensor([[[1.0, 2.0]]]), torch.tensor([[[3.0, 4.0]]]), torch.tensor([[[5.0, 6.0]]])]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return str(ensure_tiny_random(["a small test sentence", "ein kleiner Satz"], seed=0,
                                  cache_dir=tmp_path_factory.mktemp("cache")))


def test_scalar_mix_is_the_softmax_weighted_sum_times_gamma():
    mix = ScalarMix(3)
    # Untrained: an even mix, gamma 1 -> the plain mean (3, 4).
    assert torch.allclose(mix(H), torch.tensor([[[3.0, 4.0]]]))
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.0, math.log(2.0), math.log(3.0)]))  # weights 1:2:3
        mix.gamma.fill_(2.0)
    # 2 * (1*(1,2) + 2*(3,4) + 3*(5,6)) / 6 = 2 * (22, 28) / 6
    assert torch.allclose(mix(H), torch.tensor([[[22.0 / 3, 28.0 / 3]]]))


def identity_attention() -> LayerAttention:
    """One head; value and output projections are the identity, no biases."""
    att = LayerAttention(3, hidden_size=2, num_heads=1)
    with torch.no_grad():
        for lin in (att.query, att.key, att.value, att.output):
            lin.weight.copy_(torch.eye(2))
            lin.bias.zero_()
    return att


def test_untrained_layer_attention_returns_the_last_layer_exactly():
    torch.manual_seed(0)
    att = LayerAttention(3, hidden_size=2, num_heads=1)
    assert torch.equal(att(H), H[-1])
    hidden = [torch.randn(2, 5, 8) for _ in range(4)]
    assert torch.equal(LayerAttention(4, 8, 2)(hidden), hidden[-1])


def test_layer_attention_adds_the_attended_lower_layers():
    att = identity_attention()
    with torch.no_grad():
        att.query.weight.zero_()  # equal scores: the mean of the lower layers (2, 3)
    assert torch.allclose(att(H), torch.tensor([[[5.0 + 2.0, 6.0 + 3.0]]]))
    with torch.no_grad():
        att.query.weight.copy_(100 * torch.eye(2))
    # Scores (5,6)·(1,2)*100/sqrt(2) vs (5,6)·(3,4)*100/sqrt(2): layer 1 takes it all.
    weights = att.layer_weights(H).detach()
    assert weights.shape == (1, 1, 1, 2)
    assert weights[0, 0, 0, 1] == pytest.approx(1.0)
    assert torch.allclose(att(H), torch.tensor([[[5.0 + 3.0, 6.0 + 4.0]]]))


def test_wrong_number_of_hidden_states_is_a_clear_error():
    with pytest.raises(XstiltsError, match="built for 4 hidden states, got 3"):
        ScalarMix(4)(H)
    with pytest.raises(XstiltsError, match="built for 2 hidden states, got 3"):
        LayerAttention(2, hidden_size=2, num_heads=1)(H)


def test_build_aggregation_counts_embeddings_and_every_layer(tiny):
    encoder, _ = load_encoder(tiny)  # 2 layers -> 3 hidden states
    assert build_aggregation("last", encoder.config) is None
    assert build_aggregation("scalar_mix", encoder.config).scalars.shape == (3,)
    att = build_aggregation("attention", encoder.config)
    assert (att.num_hidden_states, att.num_heads) == (3, encoder.config.num_attention_heads)
    with pytest.raises(XstiltsError, match="unknown kind 'mean'"):
        build_aggregation("mean", encoder.config)


def test_wrapper_replaces_last_hidden_state_and_passes_hidden_states_through(tiny):
    encoder, tokenizer = load_encoder(tiny)
    encoder.eval()
    batch = tokenizer(["a small test sentence", "ein Satz"], padding=True, return_tensors="pt")
    mix = ScalarMix(3)
    wrapped = LayerAggregatingEncoder(encoder, mix).eval()
    with torch.no_grad():
        plain = encoder(**batch, output_hidden_states=True)
        out = wrapped(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                      output_hidden_states=True)
        short = wrapped(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    assert len(out.hidden_states) == 3
    # Real tokens only: the backbone runs over them alone (models/unpadded.py), padding
    # positions are left at zero.
    real = batch["attention_mask"].bool()
    for ours, theirs in zip(out.hidden_states, plain.hidden_states, strict=True):
        assert torch.allclose(ours[real], theirs[real], atol=1e-5)
    mean = (plain.hidden_states[0] + plain.hidden_states[1] + plain.hidden_states[2]) / 3
    assert torch.allclose(out.last_hidden_state[real], mean[real], atol=1e-5)
    assert not torch.allclose(out.last_hidden_state[real], plain.last_hidden_state[real])
    assert short.hidden_states is None  # as a plain call without output_hidden_states
    assert torch.equal(short.last_hidden_state, out.last_hidden_state)
    assert wrapped.config is encoder.config
    assert wrapped.get_input_embeddings() is encoder.get_input_embeddings()


def test_last_builds_no_wrapper_and_adds_no_parameters(tiny):
    encoder, _ = load_encoder(tiny)
    model = MultiTaskModel(encoder)
    assert model.encoder is encoder and model.backbone is encoder
    assert model.aggregation is None
    assert [n for n, _ in model.named_parameters()] == [
        f"encoder.{n}" for n, _ in encoder.named_parameters()]


@pytest.mark.parametrize("kind", ["scalar_mix", "attention"])
def test_aggregation_trains_with_the_head_learning_rate(tiny, kind):
    encoder, _ = load_encoder(tiny)
    model = MultiTaskModel(encoder, kind)
    assert model.backbone is encoder and model.encoder is not encoder
    cfg = TrainingConfig(learning_rate=1e-5, head_learning_rate=1e-2)
    optimizer, _ = build_optimizer(model, cfg, 10)
    lr_of = {id(p): g["initial_lr"] for g in optimizer.param_groups for p in g["params"]}
    assert {lr_of[id(p)] for p in model.aggregation.parameters()} == {1e-2}
    assert {lr_of[id(p)] for p in encoder.parameters()} == {1e-5}


@pytest.mark.parametrize("value", ["mean", "Last", "", "[last]"])
def test_config_rejects_unknown_aggregations(value):
    text = (f"encoder: {{name: tiny-random, layer_aggregation: '{value}'}}\n"
            "targets: {tasks: [xnli]}\n")
    with pytest.raises(XstiltsError, match=r"c.yaml:1: encoder.layer_aggregation: Input should "
                                           r"be 'last', 'scalar_mix' or 'attention'"):
        parse_config(text, "c.yaml")


def test_config_accepts_each_aggregation():
    for kind in ("last", "scalar_mix", "attention"):
        config = parse_config(f"encoder: {{layer_aggregation: {kind}}}\n"
                              "targets: {tasks: [xnli]}\n", "c.yaml")
        assert config.encoder.layer_aggregation == kind
    assert parse_config("targets: {tasks: [xnli]}\n").encoder.layer_aggregation == "last"
