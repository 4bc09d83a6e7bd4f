"""A study's cost before it runs: tokens, FLOPs, GPU-hours and the disk its kept weights take,
from the plan's jobs, the tasks' split sizes and the encoder's config, with no data read
where the sizes are known.

    training FLOPs   = 6 x N x tokens   (forward 2N, backward 4N: Kaplan et al. 2020)
    evaluation FLOPs = 2 x N x tokens
    GPU-hours        = FLOPs / (the GPU's dense bf16 peak x MFU) / 3600

N: the encoder's non-embedding parameters (embeddings are lookups), as train/throughput.py
counts them; frozen layers (`encoder.freeze_layers`) take no backward (2N + 4 N_trainable),
and an MLM task adds its vocabulary projection. Tokens are an upper bound: every sequence at
its task's max_length (a multiple-choice example is one sequence per choice, a retrieval
pair two); padding to each batch's longest, or none with the unpadded forward, costs less.
Attention scores and dev evaluations for model selection are left out (a few percent at
XTREME's settings).

A split's size comes from the task's option `sizes` ({split: N} or {split: {lang: N}},
e.g. `task_options: {mytask: {sizes: {train: 50000, dev: 2000, test: 2000}}}`; in no job
key), a generated suite's sizes, the built-in tasks' dataset cards (tasks/card_sizes.py),
or, for files on disk, the files themselves; jobs with an unknown size are counted apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from xstilts.errors import XstiltsError
from xstilts.formats.spec import format_spec
from xstilts.models.encoder_size import EncoderSize, encoder_size
from xstilts.tasks.card_sizes import APPROXIMATE, CHOICES, card_size
from xstilts.tasks.resolve import evaluation_length, sequence_length
from xstilts.tasks.task import GeneratedSource, Task
from xstilts.train.budget import capped_size, phase_steps
from xstilts.train.gpus import PEAK_BF16_FLOPS
from xstilts.train.samplers import task_probabilities

KINDS = ("intermediate", "target", "evaluation")
BYTES_PER_WEIGHT = 4  # fp32 checkpoints; AdamW's two moments add 8 per trained weight


def peak_flops(gpu: str) -> float:
    """A GPU's dense bf16 peak FLOP/s by name (h100, a100, h100-pcie, ...)."""
    name = gpu.lower().replace("-", " ").replace("_", " ").strip()
    peaks = dict(PEAK_BF16_FLOPS)
    if name not in peaks:
        known = ", ".join(k.replace(" ", "-") for k in peaks)
        raise XstiltsError(f"--gpu {gpu}: no peak FLOP/s known for it.\n  fix: use one of "
                           f"{known}.")
    return peaks[name]


class SplitSizes:
    """Split sizes, each looked up once, with where each came from."""

    def __init__(self, read_files: bool = True):
        self.read_files = read_files
        self.sources: Counter = Counter()  # how many sizes came from each kind of source
        self.unknown: set[str] = set()  # "task split" without a known size
        self.approximate: set[str] = set()
        self._memo: dict = {}

    def __call__(self, task: Task, split: str, lang: str | None = None) -> int | None:
        key = (task.name, split, lang)
        if key not in self._memo:
            size, source = self._find(task, split, lang)
            self._memo[key] = size
            self.sources[source] += 1
            if size is None:
                self.unknown.add(f"{task.name} {split}")
            elif source == "card" and task.name in APPROXIMATE:
                self.approximate.add(task.name)
        return self._memo[key]

    def _find(self, task: Task, split: str, lang: str | None) -> tuple[int | None, str]:
        declared = (task.options.get("sizes") or {}).get(split)
        if declared is not None:
            if isinstance(declared, dict):
                declared = declared.get(lang or task.train_language, declared.get("*"))
            if declared is not None:
                return _count(declared, task, split), "declared"
        languages = 1 if lang else len(task.train_languages or [task.train_language])
        if isinstance(task.source, GeneratedSource):
            return task.source.sizes.get(split, 0) * languages, "generated"
        carded = card_size(task.name, split, lang)
        if carded is not None:
            return carded, "card"
        if self.read_files and task.local_files(split, [lang] if lang else list(
                task.train_languages or [task.train_language])):
            from xstilts.tasks.loading import load_split

            try:
                return len(load_split(task, split, lang)), "files"
            except XstiltsError:
                pass  # unreadable here: the run itself says why
        return None, "unknown"


def _count(value, task: Task, split: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise XstiltsError(f"task {task.name!r}: option sizes.{split} is {value!r}, not a "
                           "number of examples.\n  fix: give {split: N} or {split: {lang: N}} "
                           "with N >= 0.")
    return value


def sequences_per_example(task: Task) -> int:
    """Sequences an example is encoded as: one per choice (multiple choice), two for a
    retrieval pair, else one."""
    if task.format == "multiple_choice":
        return int(task.options.get("choices", CHOICES.get(task.name, 4)))
    return 2 if task.format == "retrieval" else 1


@dataclass
class KindCost:
    jobs: int = 0
    tokens: float = 0.0
    flops: float = 0.0
    unknown: int = 0  # jobs whose size is unknown (not in tokens or FLOPs)


@dataclass
class Cost:
    size: EncoderSize | None
    gpu: str
    peak: float
    mfu: float
    kinds: dict[str, KindCost] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)  # checkpoints whose weights stay
    checkpoint_bytes: float = 0.0  # best/ + last/ of one training job
    sizes: SplitSizes | None = None

    @property
    def total_flops(self) -> float:
        return sum(k.flops for k in self.kinds.values())

    def gpu_hours(self, flops: float) -> float:
        return flops / (self.peak * self.mfu) / 3600

    @property
    def disk_bytes(self) -> float:
        return sum(self.kept.values()) * self.checkpoint_bytes


class Estimator:
    """Tokens and FLOPs of one job at a time."""

    def __init__(self, size: EncoderSize | None, encoder, sizes: SplitSizes):
        self.size, self.encoder, self.sizes = size, encoder, sizes

    def per_token(self, task: Task) -> float:
        """Training FLOPs per token."""
        size, frozen = self.size, self.encoder.freeze_layers
        flops = 2 * size.non_embedding + 4 * (size.layers - frozen) * size.per_layer
        return flops + (6 * size.vocab * size.hidden if task.format == "mlm" else 0)

    def training(self, tasks, training) -> tuple[float, float] | None:
        """(tokens, FLOPs) of a training job; None when a task's size is unknown."""
        sizes = [self.sizes(t, "train") for t in tasks]
        if any(s is None for s in sizes):
            return None
        sizes = [capped_size(s, training) for s in sizes]
        sequences = phase_steps(training, sizes) * training.batch_size * training.grad_accum
        shares = task_probabilities(training.sampler, dict(zip([t.name for t in tasks], sizes,
                                                               strict=True)),
                                    training.sampler_cap, training.temperature, training.weights)
        tokens = flops = 0.0
        for task in tasks:
            n = sequences * shares[task.name] * sequences_per_example(task) * \
                sequence_length(task, training)
            tokens, flops = tokens + n, flops + n * self.per_token(task)
        return tokens, flops

    def evaluation(self, job) -> tuple[float, float] | None:
        """(tokens, FLOPs) of an evaluation job (with the dev data a threshold is tuned on)."""
        task, total = job.task, 0
        splits = dict.fromkeys([job.split, _threshold(task) or job.split])
        for split in splits:
            n = self.sizes(task, split, job.lang)
            if n is None:
                return None
            total += min(n, job.phase.test_limit) if job.phase.test_limit else n
        limit = min(self.size.positions, 512)  # XLM-R's 514 positions take 512
        length = evaluation_length(task, format_spec(task.format), job.phase.training, limit)
        tokens = total * sequences_per_example(task) * length
        return tokens, 2.0 * self.size.non_embedding * tokens


def _threshold(task: Task) -> str | None:
    from xstilts.tasks.splits import threshold_split

    return threshold_split(task)


def checkpoint_bytes(size: EncoderSize, encoder) -> float:
    """best/ (the weights) and last/ (the weights and AdamW's moments of the trained ones)."""
    frozen = 0
    if encoder.freeze_layers:
        frozen = size.embeddings + encoder.freeze_layers * size.per_layer
    elif encoder.freeze_embeddings:
        frozen = size.vocab * size.hidden
    return BYTES_PER_WEIGHT * size.total * 2 + 8 * (size.total - frozen)


def estimate(plan, keep, encoder_name: str, gpu: str = "h100", mfu: float = 0.4,
             read_files: bool = True) -> Cost:
    """The cost of every job of `plan` (the kept checkpoints: `keep`, a study's Keep)."""
    if not 0 < mfu <= 1:
        raise XstiltsError(f"--mfu {mfu}: a utilisation is a fraction of the peak.\n  fix: "
                           "give a number in (0, 1], e.g. 0.4.")
    size = encoder_size(encoder_name)
    sizes = SplitSizes(read_files)
    cost = Cost(size, gpu, peak_flops(gpu), mfu, {k: KindCost() for k in KINDS}, sizes=sizes)
    estimator = Estimator(size, plan.setup.encoder, sizes)
    for job in plan.jobs.values():
        kind = cost.kinds[job.kind]
        kind.jobs += 1
        if size is None:
            continue
        if job.kind == "evaluation":
            got = estimator.evaluation(job)
        else:
            tasks = job.tasks if job.kind == "intermediate" else (job.task,)
            got = estimator.training(tasks, job.phase.training)
        if got is None:
            kind.unknown += 1
        else:
            kind.tokens, kind.flops = kind.tokens + got[0], kind.flops + got[1]
    if size is not None:
        cost.checkpoint_bytes = checkpoint_bytes(size, plan.setup.encoder)
    wanted = {"intermediate": keep.intermediate_weights, "target": keep.target_weights}
    cost.kept = {k: cost.kinds[k].jobs for k in ("intermediate", "target") if wanted[k]}
    return cost
