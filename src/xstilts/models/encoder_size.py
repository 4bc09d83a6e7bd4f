"""An encoder's parameter counts from its config alone: no weights, no download.

The config comes from, in order: a local folder's config.json; the built-in encoders'
architectures (tiny-random, e5-small); a table of the hub configs of encoders XTREME
studies use (their config.json on the hub); the Hugging Face cache, where a hub id's
config.json was downloaded before. Counts follow the BERT/XLM-R layout (Hugging Face's
BertModel/XLMRobertaModel): embeddings (words, positions, token types, LayerNorm), per
layer query/key/value/output projections, two LayerNorms and the feed-forward pair, and
the pooler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Hub config.json fields of common XTREME encoders (vocab, hidden, layers, FFN, positions,
# token types).
KNOWN_CONFIGS: dict[str, tuple[int, int, int, int, int, int]] = {
    "xlm-roberta-large": (250_002, 1024, 24, 4096, 514, 1),
    "xlm-roberta-base": (250_002, 768, 12, 3072, 514, 1),
    "bert-base-multilingual-cased": (119_547, 768, 12, 3072, 512, 2),
    "intfloat/multilingual-e5-small": (250_037, 384, 12, 1536, 512, 2),
    "intfloat/multilingual-e5-base": (250_002, 768, 12, 3072, 514, 1),
    "intfloat/multilingual-e5-large": (250_002, 1024, 24, 4096, 514, 1),
}
for _name in ("xlm-roberta-large", "xlm-roberta-base"):
    KNOWN_CONFIGS[f"FacebookAI/{_name}"] = KNOWN_CONFIGS[_name]
KNOWN_CONFIGS["google-bert/bert-base-multilingual-cased"] = \
    KNOWN_CONFIGS["bert-base-multilingual-cased"]
KNOWN_CONFIGS["e5-small"] = KNOWN_CONFIGS["intfloat/multilingual-e5-small"]  # its conversion
TINY_RANDOM_VOCAB = 4000  # build_tokenizer's vocab_size: an upper bound of what it learns


@dataclass(frozen=True)
class EncoderSize:
    vocab: int
    hidden: int
    layers: int
    ffn: int
    positions: int
    token_types: int
    source: str  # where the config came from

    @property
    def per_layer(self) -> int:
        """Q, K, V, O with biases, two LayerNorms, the feed-forward pair with biases."""
        h, i = self.hidden, self.ffn
        return 4 * (h * h + h) + 2 * (2 * h) + (h * i + i) + (i * h + h)

    @property
    def embeddings(self) -> int:
        return (self.vocab + self.positions + self.token_types) * self.hidden + 2 * self.hidden

    @property
    def non_embedding(self) -> int:
        """The transformer layers: what a token's matmuls run through (train/throughput.py)."""
        return self.layers * self.per_layer

    @property
    def total(self) -> int:
        """Every weight a checkpoint holds (the pooler too; heads are small and left out)."""
        return self.embeddings + self.non_embedding + self.hidden * self.hidden + self.hidden


def _from_config(config: dict, source: str) -> EncoderSize:
    return EncoderSize(int(config["vocab_size"]), int(config["hidden_size"]),
                       int(config["num_hidden_layers"]), int(config["intermediate_size"]),
                       int(config.get("max_position_embeddings", 512)),
                       int(config.get("type_vocab_size", 2)), source)  # BertConfig's default


def encoder_size(name: str) -> EncoderSize | None:
    """The sizes of encoder `name` (as `encoder.name` gives it); None when no config is
    known offline."""
    folder = Path(name).expanduser()
    if (folder / "config.json").is_file():
        return _from_config(json.loads((folder / "config.json").read_text(encoding="utf-8")),
                            f"{folder / 'config.json'}")
    if name == "tiny-random":
        from xstilts.models.tiny_random import ARCH

        return _from_config({**ARCH, "vocab_size": TINY_RANDOM_VOCAB}, "tiny-random's ARCH")
    if name in KNOWN_CONFIGS:
        vocab, hidden, layers, ffn, positions, types = KNOWN_CONFIGS[name]
        return EncoderSize(vocab, hidden, layers, ffn, positions, types,
                           f"the hub's config.json of {name}")
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json")
    except Exception:  # not a hub id, or no hub client: unknown
        return None
    if isinstance(cached, str) and Path(cached).is_file():
        return _from_config(json.loads(Path(cached).read_text(encoding="utf-8")),
                            f"the cached config.json of {name}")
    return None
