"""The encoder's forward over real tokens only must be Hugging Face's forward, minus padding."""

import pytest
import torch
from transformers import (
    BertConfig,
    BertModel,
    DistilBertConfig,
    DistilBertModel,
    XLMRobertaConfig,
    XLMRobertaModel,
)

from xstilts.models import unpadded
from xstilts.models.unpadded import (
    attention_groups,
    encode,
    supports_unpadded,
    unpadded_forward,
)

SIZES = dict(vocab_size=120, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             intermediate_size=64, max_position_embeddings=80)


def bert(dropout: float = 0.0) -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(**SIZES, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout)
    return BertModel(config)


def xlmr(dropout: float = 0.0) -> XLMRobertaModel:
    torch.manual_seed(0)
    config = XLMRobertaConfig(**SIZES, pad_token_id=1, hidden_dropout_prob=dropout,
                              attention_probs_dropout_prob=dropout)
    return XLMRobertaModel(config, add_pooling_layer=False)


def padded_batch(lengths, width=None, pad_id=1):
    """Right-padded ids (real ids never the pad id) and their attention mask."""
    width = width or max(lengths)
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 120, (len(lengths), width), generator=generator)
    mask = (torch.arange(width)[None] < torch.tensor(lengths)[:, None]).long()
    return ids.masked_fill(mask == 0, pad_id), mask


LENGTHS = [7, 3, 12, 12, 1, 9]


@pytest.mark.parametrize("build", [bert, xlmr])
@pytest.mark.parametrize("budget", [unpadded.CPU_GROUP_SCORES, 1, None])
def test_outputs_and_every_hidden_state_equal_hugging_faces_at_real_tokens(build, budget,
                                                                            monkeypatch):
    # budget 1: every sequence attends alone; None: the whole batch is one masked group.
    monkeypatch.setattr(unpadded, "CPU_GROUP_SCORES", budget)
    model = build().eval()
    ids, mask = padded_batch(LENGTHS, width=14)
    with torch.no_grad():
        theirs = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        ours = unpadded_forward(model, ids, mask, output_hidden_states=True)
    real = mask.bool()
    assert len(ours.hidden_states) == len(theirs.hidden_states) == 4
    for mine, reference in zip(ours.hidden_states, theirs.hidden_states, strict=True):
        assert torch.allclose(mine[real], reference[real], atol=1e-5)
    assert torch.allclose(ours.last_hidden_state[real], theirs.last_hidden_state[real], atol=1e-5)
    # Padding positions are not computed: zeros (every head masks or ignores them).
    assert not ours.last_hidden_state[~real].any()
    assert ours.last_hidden_state.shape == theirs.last_hidden_state.shape


@pytest.mark.parametrize("build", [bert, xlmr])
def test_gradients_equal_hugging_faces(build, monkeypatch):
    monkeypatch.setattr(unpadded, "CPU_GROUP_SCORES", 4 * 2 * 12 ** 2)  # groups of 1-2
    ids, mask = padded_batch(LENGTHS, width=14)
    weights = torch.randn(14, 32, generator=torch.Generator().manual_seed(2))
    grads = []
    for forward in (lambda m: m(input_ids=ids, attention_mask=mask).last_hidden_state,
                    lambda m: unpadded_forward(m, ids, mask).last_hidden_state):
        model = build().train()  # dropout 0: training mode, deterministic
        hidden = forward(model)
        (hidden * weights * mask[..., None]).sum().backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    theirs, ours = grads
    assert ours.keys() == theirs.keys()
    assert len(ours) > 30  # every layer's weights, not only the embeddings
    for name in theirs:
        assert torch.allclose(ours[name], theirs[name], atol=1e-4, rtol=1e-4), name


def test_dropout_is_applied_when_training_and_follows_the_seed():
    model = bert(dropout=0.3).train()
    ids, mask = padded_batch(LENGTHS)
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        runs.append(unpadded_forward(model, ids, mask).last_hidden_state)
    assert torch.equal(runs[0], runs[1])
    assert not torch.allclose(runs[0], runs[2])
    with torch.no_grad():
        evaluated = unpadded_forward(model.eval(), ids, mask).last_hidden_state
        reference = model(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    assert torch.allclose(evaluated[real], reference[real], atol=1e-5)


def test_bf16_autocast_matches_hugging_faces_under_the_same_autocast():
    model = xlmr().eval()
    ids, mask = padded_batch(LENGTHS)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        theirs = model(input_ids=ids, attention_mask=mask).last_hidden_state
        ours = unpadded_forward(model, ids, mask).last_hidden_state
    real = mask.bool()
    assert ours.dtype == theirs.dtype
    assert torch.allclose(ours[real].float(), theirs[real].float(), atol=0.1)


def test_attention_groups_stay_within_the_budget_and_keep_the_order():
    # heads 2, budget 100 scores: [3, 5] -> 2 x 2 x 5^2 = 100 fits; adding 2 -> 150 does not;
    # 8 alone is 128, over the budget: a group of its own.
    assert attention_groups([3, 5, 2, 8], heads=2, budget=100) == [[0, 1], [2], [3]]
    assert attention_groups([3, 5, 2, 8], heads=2, budget=None) == [[0, 1, 2, 3]]
    assert attention_groups([4, 4, 4], heads=1, budget=32) == [[0, 1], [2]]


def test_encode_runs_hugging_faces_forward_where_it_cannot_unpad():
    model = bert().eval()
    ids, mask = padded_batch(LENGTHS)
    left = mask.flip(1)  # left padding: real tokens last
    with torch.no_grad():
        assert torch.equal(encode(model, ids.flip(1), left).last_hidden_state,
                           model(input_ids=ids.flip(1), attention_mask=left).last_hidden_state)
        empty = mask.clone()
        empty[1] = 0  # a row without real tokens: Hugging Face's forward as well
        assert torch.equal(encode(model, ids, empty).last_hidden_state,
                           model(input_ids=ids, attention_mask=empty).last_hidden_state)
        # right padding: the unpadded forward (zeros at padding, HF has values there)
        assert not encode(model, ids, mask).last_hidden_state[~mask.bool()].any()
    assert supports_unpadded(model)
    assert supports_unpadded(xlmr())
    distil = DistilBertModel(DistilBertConfig(vocab_size=120, dim=32, n_layers=2, n_heads=4,
                                              hidden_dim=64))
    assert not supports_unpadded(distil)
    relative = BertModel(BertConfig(**SIZES, position_embedding_type="relative_key"))
    assert not supports_unpadded(relative)
    checkpointed = bert()
    # transformers 5 name, else the older one
    getattr(checkpointed, "activation_checkpointing_enable",
            getattr(checkpointed, "gradient_checkpointing_enable", None))()
    assert not supports_unpadded(checkpointed)  # keeps its memory saving
    compiled = bert()
    compiled.compile()
    assert not supports_unpadded(compiled)  # keeps its compiled forward
    assert not supports_unpadded(torch.compile(bert()))  # the wrapper torch.compile returns

    class RemoteBert(BertModel):  # as trust_remote_code's classes: BERT's names, own forward
        pass

    assert not supports_unpadded(RemoteBert(BertConfig(**SIZES)))
    with torch.no_grad():  # no mask: Hugging Face's forward (every position real)
        assert torch.equal(encode(model, ids, None).last_hidden_state,
                           model(input_ids=ids).last_hidden_state)


def test_scattered_puts_rows_in_place_and_zeros_at_padding_even_over_reused_memory():
    # Its buffer is uninitialised memory: padding must still come out exactly zero (a nan
    # there would reach the softmax's gradient), and the gradient must reach x's rows only.
    rows, padding = torch.tensor([0, 2, 3]), torch.tensor([1, 4])
    x = torch.arange(12.0).view(3, 4).requires_grad_()
    for _ in range(20):  # a freed nan block of the same size: the allocator may hand it back
        garbage = torch.full((5, 4), float("nan"))
        del garbage
        x.grad = None
        out = unpadded._scattered(x, rows, padding, 5)
        expected = torch.zeros(5, 4)
        expected[rows] = x.detach()
        assert torch.equal(out, expected)
        (out * torch.arange(5.0)[:, None]).sum().backward()
        assert torch.equal(x.grad, rows.float()[:, None].expand(3, 4))


@pytest.mark.parametrize("build", [bert, xlmr])
def test_training_with_dropout_draws_as_hugging_faces_sdpa_forward_where_nothing_is_padded(
        build):
    # Sequences of one length: the unpadded forward's tensors have Hugging Face's shapes
    # (attention over one (batch, heads, 9, 9) group; hidden states (tokens, width) against
    # (batch, 9, width)), so with the same seed every dropout (embeddings, attention
    # probabilities through SDPA's dropout_p, hidden states through the layers' nn.Dropout)
    # draws the same masks in the same order: the same outputs and gradients, to rounding.
    ids, mask = padded_batch([9, 9, 9])
    weights = torch.randn(9, 32, generator=torch.Generator().manual_seed(2))
    outputs, grads = [], []
    for mode in ("ours", "theirs"):
        model = build(dropout=0.3).train()
        model.set_attn_implementation("sdpa")
        torch.manual_seed(5)
        hidden = (unpadded_forward(model, ids, mask).last_hidden_state if mode == "ours"
                  else model(input_ids=ids, attention_mask=mask).last_hidden_state)
        (hidden * weights).sum().backward()
        outputs.append(hidden.detach())
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    with torch.no_grad():
        undropped = unpadded_forward(model.eval(), ids, mask).last_hidden_state
    assert not torch.allclose(outputs[0], undropped, atol=1e-2)  # dropout did drop
    assert torch.allclose(outputs[0], outputs[1], atol=1e-5)
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 30
    for name in grads[1]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-4, rtol=1e-4), name
