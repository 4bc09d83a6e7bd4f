"""Format-test fixtures: a tiny fast tokenizer built offline (no hub download).

It mimics XLM-R's layout: a Unigram model, "▁" word markers, `<s> A </s></s> B </s>` for pairs,
pad id 1. Punctuation and CJK characters are split off so answer boundaries in tests fall on
token boundaries in every script.
"""

from __future__ import annotations

import pytest

TRAINING_TEXT = """\
The Eiffel Tower is in Paris, the capital of France.
Who built the tower? It was built by the company of Gustave Eiffel in 1889.
What is the capital of France? Where is the tower? When was it built? How tall is it?
The river Seine flows through the city and the tower stands near the river.
Many people visit the city every year to see the museums, the parks and the old streets.
A small cat sat on the warm mat while the dog slept under the big wooden table.
Москва является столицей России и крупнейшим городом страны.
Где находится Кремль? Кремль находится в центре Москвы на берегу реки.
Кто построил этот город? Город был основан в двенадцатом веке.
北京是中华人民共和国的首都，也是世界著名古都。
长城在哪里？长城位于中国北部，全长两万多公里。
谁建造了故宫？故宫建于明朝，是皇帝居住的地方。
القاهرة هي عاصمة جمهورية مصر العربية وأكبر مدنها.
أين يقع نهر النيل؟ يجري نهر النيل في شمال شرق أفريقيا ويصب في البحر المتوسط.
من بنى الأهرامات؟ بنى المصريون القدماء الأهرامات قبل آلاف السنين.
"""

def build_tiny_tokenizer():
    """A PreTrainedTokenizerFast trained on TRAINING_TEXT (deterministic, well under a second)."""
    from tokenizers import Regex, pre_tokenizers

    from xstilts.models.tiny_random import build_tokenizer

    return build_tokenizer(TRAINING_TEXT.splitlines(), vocab_size=600, seed_text=False,
                           pre_tokenizer=pre_tokenizers.Sequence([
                               pre_tokenizers.Metaspace(),
                               pre_tokenizers.Punctuation(),
                               # One token per CJK ideograph: Chinese answers align with tokens.
                               pre_tokenizers.Split(Regex("[\u4e00-\u9fff]"),
                                                    behavior="isolated"),
                           ]))


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """Session-wide tiny multilingual fast tokenizer (see module docstring)."""
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_encoder(tiny_tokenizer):
    """A one-layer XLM-R-architecture encoder with random weights over `tiny_tokenizer`."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=len(tiny_tokenizer), hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=130,
        pad_token_id=1, type_vocab_size=1)
    return XLMRobertaModel(config, add_pooling_layer=False)


def build_bert_tokenizer():
    """A cased WordPiece tokenizer in mBERT's layout (`[CLS] A [SEP] B [SEP]`, B of token type
    1, pad id 0) over TRAINING_TEXT's words and characters: a Hugging Face `BertTokenizer`
    (fast), built offline."""
    import re

    from transformers import BertTokenizer

    chars = sorted(set(TRAINING_TEXT) - set(" \n"))
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
              *sorted(set(re.findall(r"\w+|[^\w\s]", TRAINING_TEXT))), *chars,
              *(f"##{c}" for c in chars)]
    vocab = {piece: i for i, piece in enumerate(dict.fromkeys(pieces))}
    return BertTokenizer(vocab=vocab, do_lower_case=False)


@pytest.fixture(scope="session")
def bert_tokenizer():
    """Session-wide tiny mBERT-layout tokenizer (see `build_bert_tokenizer`)."""
    return build_bert_tokenizer()


def build_bert_encoder(vocab_size: int):
    """A two-layer BERT with random weights and two token types (mBERT's shape), eval mode."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=130, type_vocab_size=2, pad_token_id=0)
    return BertModel(config, add_pooling_layer=False).eval()


@pytest.fixture(scope="session")
def bert_encoder(bert_tokenizer):
    """A tiny BERT over `bert_tokenizer` (see `build_bert_encoder`)."""
    return build_bert_encoder(len(bert_tokenizer))
