"""Typed run configuration read from YAML: the one source of truth for defaults.

Every error names the file, the key, its line and what is expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xstilts.errors import XstiltsError, located
from xstilts.names import SafeName
from xstilts.train.batching import BUCKET_WIDTH

DEFAULT_MAX_LENGTH = 128  # tokens, for tasks that declare no length of their own
SAVE_INTERVAL_S = 300.0  # training.save_every: None saves the resume state this often


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EncoderConfig(Strict):
    """Phase (i): which pretrained encoder, and how to make it cheap on a CPU."""

    name: str = "tiny-random"  # tiny-random | e5-small | local folder | hub id
    freeze_embeddings: bool = False  # the word embeddings are most of a small model's weights
    trim_vocab: bool = False  # keep only the pieces the run's data uses (+ specials)
    freeze_layers: int = Field(0, ge=0)  # freeze the bottom N transformer layers (and embeddings)
    # None: the model's own (0.1 in BERT/XLM-R); 0 makes CPU training steps much cheaper.
    attention_dropout: float | None = Field(None, ge=0, lt=1)
    trust_remote_code: bool = False
    # None: from the model's config (XLM-R Large 14, 12-layer BERT/XLM-R 8, e5 and others the
    # last); an index into hidden_states (0 = embeddings, -1 = last).
    retrieval_layer: int | None = None
    text_prefix: str | None = None  # None: the model's own (e5 checkpoints: "query: ")
    # How token representations are formed from the encoder's layers for classification,
    # tagging and QA heads: the last layer, an ELMo scalar mix, or attention over layers.
    layer_aggregation: Literal["last", "scalar_mix", "attention"] = "last"
    # Which forward runs the encoder (models/forward.py): auto = Hugging Face's with PyTorch
    # SDPA on CUDA, the unpadded one (models/unpadded.py) on a CPU where it supports the
    # encoder; hf = Hugging Face's everywhere; unpadded = the unpadded one, refused at the
    # start of a run for an encoder it cannot run.
    forward: Literal["auto", "hf", "unpadded"] = "auto"


class TrainingConfig(Strict):
    """How one phase trains. Budget: `max_steps` if set, else `epochs`."""

    learning_rate: float = Field(3e-5, gt=0)
    head_learning_rate: float | None = Field(None, gt=0)  # None: same as learning_rate
    batch_size: int = Field(16, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    max_steps: int | None = Field(None, ge=1)
    epochs: float = Field(1.0, gt=0)
    # Train each task on at most N of its training examples (features: QA windows), a
    # random subset drawn with the phase's seed (train/budget.py); None: all of them. A
    # study's `budget: {per_task_examples: N}` sets it for the intermediate phase.
    examples_per_task: int | None = Field(None, ge=1)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0)
    grad_accum: int = Field(1, ge=1)
    max_grad_norm: float = Field(1.0, gt=0)
    # Tokens per sequence; None: the task's own default (built-in QA 384, as XTREME), else
    # DEFAULT_MAX_LENGTH. Retrieval and bitext mining always encode at the task's length
    # (XTREME's 512, capped by the model), not this one.
    max_length: int | None = Field(None, ge=8)
    # Model selection: dev evaluations every `eval_every` steps; 0 = `evaluations` of them
    # spread evenly over the phase (the last at its final step).
    eval_every: int = Field(0, ge=0)
    evaluations: int = Field(5, ge=1)
    patience: int | None = Field(None, ge=1)  # evaluations without improvement before stopping
    dev_limit: int | None = Field(None, ge=1)  # evaluate on the first N dev examples only
    sampler: Literal["uniform", "proportional", "capped", "temperature", "weights"] = "proportional"
    sampler_cap: int | None = Field(None, ge=1)
    temperature: float = Field(2.0, gt=0)
    weights: dict[str, float] | None = None
    # bf16 autocast on a GPU that supports it (else fp32, with one warning); CPU: always fp32.
    bf16: bool = True
    # Save the full resume state (`last/`) every N optimiser steps, besides each dev
    # evaluation; None: whenever SAVE_INTERVAL_S of training wall clock passed since the
    # last save. Resuming is exact either way, so this changes no result (not in job keys).
    save_every: int | None = Field(None, ge=1)
    # Batches of similar-length examples in a seeded random order (train/batching.py): less
    # padding per batch; False: a plain seeded shuffle.
    group_by_length: bool = True
    # Tokens per length bucket of that order: 16 learnt best on the demo's NLI; 1 sorts
    # exactly (Trainer's group_by_length), padding least on short sequences.
    length_bucket_width: int = Field(BUCKET_WIDTH, ge=1)
    # torch.compile the encoder (in place): faster GPU steps after a compile of minutes; off
    # by default (the compile rarely pays for short phases or CPU runs).
    compile: bool = False


class PhaseConfig(Strict):
    """A list of tasks and how to train on them."""

    tasks: list[SafeName] = Field(default_factory=list)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    shared_heads: dict[SafeName, list[SafeName]] = Field(default_factory=dict)  # head -> tasks
    test_limit: int | None = Field(None, ge=1)  # evaluate on the first N test examples
    # Zero-shot evaluation on each language's test split, or on its own dev split (the
    # paper's per-intermediate-task table is on dev sets); a language without a dev set is
    # scored on test and marked so. Model selection always reads the English dev set of the
    # training data. BUCC follows its task option `protocol` (xtreme | oracle) instead.
    eval_split: Literal["test", "dev"] = "test"
    # Evaluate a task on a subset of its languages, e.g. {udpos: [de, es]} (default: all).
    languages: dict[SafeName, list[SafeName]] = Field(default_factory=dict)
    # Per target, training settings that differ from `training`, e.g. {pawsx: {epochs: 5}}
    # (targets are trained one at a time; the intermediate phase trains its tasks together).
    task_training: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("shared_heads")
    @classmethod
    def _heads_of_phase_tasks(cls, value, info: ValidationInfo):
        tasks = info.data.get("tasks", [])
        head_of: dict[str, str] = {}
        for head, members in value.items():
            unknown = [t for t in members if t not in tasks]
            if unknown:
                raise ValueError(f"head {head!r} names {unknown}, not tasks of this phase "
                                 f"{tasks}; list only the phase's tasks")
            for t in members:
                if t in head_of:
                    raise ValueError(f"task {t!r} is in both {head_of[t]!r} and {head!r}; a "
                                     "task has one head")
                head_of[t] = head
        return value

    @model_validator(mode="after")
    def _unique(self):
        dupes = {t for t in self.tasks if self.tasks.count(t) > 1}
        if dupes:
            raise ValueError(f"tasks listed twice: {sorted(dupes)}")
        unknown = sorted(set(self.training.weights or {}) - set(self.tasks))
        if unknown:
            raise ValueError(f"training.weights names {unknown}, not tasks of this phase "
                             f"{self.tasks}")
        for name in self.task_training:
            if name not in self.tasks:
                raise ValueError(f"task_training names {name!r}, which is not in tasks")
            self.training_for(name)  # invalid settings fail here, not mid-run
        return self

    def training_for(self, task: str) -> TrainingConfig:
        """`training` with the task's `task_training` settings on top."""
        override = self.task_training.get(task)
        if not override:
            return self.training
        try:
            return TrainingConfig.model_validate({**self.training.model_dump(), **override})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in exc.errors())
            raise ValueError(f"task_training.{task}: {problems}") from None

    def for_task(self, task: str) -> PhaseConfig:
        """This phase narrowed to one task, with that task's training settings."""
        return self.model_copy(update={"tasks": [task], "training": self.training_for(task),
                                       "task_training": {}})


class TaskDeclaration(Strict):
    """A task declared in YAML: format, languages, where its files are, how fields map."""

    format: Literal["classification", "multiple_choice", "span_qa", "tagging", "retrieval", "mlm",
                    "bitext_mining"]
    languages: list[SafeName] = Field(min_length=1)
    reader: Literal["jsonl", "tsv", "squad_json", "conllu", "conll", "tatoeba", "text", "bucc",
                    "csv", "ccg"]
    # "selection": a model-selection set other than dev in the training language (optional).
    paths: dict[Literal["train", "selection", "dev", "test"], str] = Field(min_length=1)
    fields: dict[str, str] = Field(default_factory=dict)
    labels: list[str] | None = None
    train_language: SafeName = "en"
    train_languages: list[SafeName] | None = None  # train/dev = concatenation over these languages
    base_dir: str | None = None  # default: the config file's folder
    options: dict = Field(default_factory=dict)
    reader_options: dict = Field(default_factory=dict)
    # Per split, reader options that differ, e.g. {train: {articles: [0, 32]}}.
    split_reader_options: dict[Literal["train", "selection", "dev", "test"], dict] = Field(
        default_factory=dict)
    description: str = ""


class SuiteConfig(Strict):
    """Settings of a generated suite (e.g. `demo`): sizes per split and its seed."""

    sizes: dict[Literal["train", "dev", "test"], int] = Field(default_factory=dict)
    # Per task of the suite, sizes that differ from `sizes`, e.g. {demo-nli: {train: 720}}.
    task_sizes: dict[SafeName, dict[Literal["train", "dev", "test"], int]] = Field(
        default_factory=dict)
    seed: int = 0


class DataConfig(Strict):
    """Where built-in benchmark tasks (XTREME, GLUE, ...) read from: the hub or local files."""

    source: Literal["hub", "local"] = "hub"
    dir: str | None = None  # local: the folder XTREME's download_data.sh writes
    # Run tasks whose hub copy is not the benchmark (BUCC: gold pairs only, no distractors);
    # their results are marked not comparable.
    allow_gold_only: bool = False
    # A local copy of the hub (clusters without internet): a hub dataset `owner/name` is read
    # from HUB_MIRROR/owner/name, as `hf download --repo-type dataset owner/name --local-dir
    # HUB_MIRROR/owner/name` writes it; null: $XSTILTS_HUB_MIRROR, else the hub itself.
    hub_mirror: str | None = None

    @model_validator(mode="after")
    def _dir_for_local(self):
        if self.source == "local" and not self.dir:
            raise ValueError("data.source is 'local' but data.dir is not set")
        return self


class TrackingConfig(Strict):
    """Experiment trackers, as Hugging Face's `report_to`: one tracker run per training job.

    Observability only: no setting here changes a job's key or its numbers.
    """

    backends: list[Literal["tensorboard", "mlflow", "wandb"]] = Field(default_factory=list)
    # None: OUT/tracking (the run's or the study's --out folder). MLflow uses a file store
    # under it unless MLFLOW_TRACKING_URI is set (a server, or a database with full mlflow).
    dir: str | None = None
    project: str | None = None  # MLflow experiment / W&B project; None: the study's name
    # ("xstilts" for `xstilts run`)
    tags: dict[str, str] = Field(default_factory=dict)  # added to every tracker run

    @field_validator("backends")
    @classmethod
    def _once_each(cls, value):
        if len(set(value)) != len(value):
            raise ValueError(f"a backend is listed twice: {value}")
        return value


class RunConfig(Strict):
    """One X-STILTs configuration: encoder → optional intermediate phase → targets."""

    seed: int = 0
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    intermediate: PhaseConfig | None = None
    targets: PhaseConfig
    tasks: dict[SafeName, TaskDeclaration] = Field(default_factory=dict)
    suites: dict[SafeName, SuiteConfig] = Field(default_factory=dict)
    data: DataConfig = Field(default_factory=DataConfig)
    label_position: Literal["first", "first_nonempty"] = "first"  # tagging; see formats.tagging
    # Per task (built-in or declared), format options over the task's own, e.g.
    # {xquad: {main_metric: em_f1}} or {tatoeba: {query_side: source}}.
    task_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @field_validator("task_options")
    @classmethod
    def _options_of_run_tasks(cls, value, info: ValidationInfo):
        targets, intermediate = info.data.get("targets"), info.data.get("intermediate")
        in_run = set(targets.tasks if targets else []) | set(
            intermediate.tasks if intermediate else [])
        unknown = sorted(set(value) - in_run)
        if unknown and targets:
            raise ValueError(f"names {unknown}, not tasks of this run (targets.tasks or "
                             "intermediate.tasks)")
        return value

    @model_validator(mode="after")
    def _has_targets(self):
        if not self.targets.tasks:
            raise ValueError("targets.tasks is empty: name at least one target task")
        if self.intermediate and self.intermediate.task_training:
            raise ValueError("intermediate.task_training: the intermediate tasks train together "
                             "in one run, so per-task settings apply to targets only (set a "
                             "task's share of the mixture with training.weights)")
        return self

    # Where the config was read from: (file, YAML node tree, key prefix such as ("base",) in
    # a study), so errors found after validation still name the file and line.
    _origin: tuple | None = PrivateAttr(default=None)

    def where(self, *loc, top: bool = False) -> str:
        """'FILE:LINE: key' for a key path of this config ('key' alone if not from a file);
        `top`: the path is from the file's top level (a study's `pool`), not the config's."""
        if self._origin is None:
            return ".".join(str(p) for p in loc)
        path, root, prefix = self._origin
        full = tuple(loc) if top else (*prefix, *loc)
        line = _line_of(root, full)
        key = ".".join(str(p) for p in full)
        return f"{path}:{line}: {key}" if line else f"{path}: {key}"

    def with_origin(self, path, root, prefix: tuple = ()) -> RunConfig:
        """This config, remembering the file (and YAML tree) it was read from."""
        self._origin = (str(path), root, tuple(prefix))
        return self


def _line_of(root: yaml.Node | None, loc: tuple) -> int | None:
    """The 1-based line of a key path in the composed YAML tree (best effort)."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def read_yaml_mapping(text: str, path, example: str) -> tuple[dict, yaml.Node]:
    """(data, node tree for line numbers) of a YAML mapping, or one clear error."""
    try:
        data, root = yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise located(path, mark.line + 1 if mark else None, f"invalid YAML: {exc}",
                      "fix the syntax at that line (indentation, brackets, quotes, ': ')") from exc
    if not isinstance(data, dict):
        raise located(path, None, "the file must be a YAML mapping (key: value)",
                      f"start from {example}")
    return data, root


def read_yaml_file(path: Path, kind: str) -> str:
    """The text of a config or study file; a located error when it is missing or unreadable."""
    if not path.exists():
        raise located(path, None, f"{kind} file not found", "check the path")
    if not path.is_file():
        raise located(path, None, f"is a directory, not a {kind} file", "give the YAML file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise located(path, data[: e.start].count(b"\n") + 1, f"not valid UTF-8: {e.reason}",
                      "save the file as UTF-8") from None


def parse_config(text: str, path: str | Path = "<config>") -> RunConfig:
    """Validate YAML text into a RunConfig, or raise one clear XstiltsError."""
    data, root = read_yaml_mapping(text, path, "examples/quickstart-tiny.yaml")
    try:
        return RunConfig.model_validate(data).with_origin(path, root)
    except ValidationError as exc:
        raise invalid_config(exc, root, path) from exc


def invalid_config(exc: ValidationError, root: yaml.Node | None, path,
                   prefix: tuple = (), what: str = "config") -> XstiltsError:
    """One error listing every problem with its file:line and key (`prefix`: where the
    config sits in the file, e.g. ("base",) in a study)."""
    lines = []
    for err in exc.errors():
        loc = prefix + tuple(p for p in err["loc"] if not str(p).startswith("function-after"))
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f"{path}:{line}" if line else f"{path}"
        msg, fix = err["msg"], "give a value of the kind the message asks for at that line"
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; see the config reference in README.md)"
            fix = "remove the key or correct its spelling"
        elif err["type"] == "missing":
            msg, fix = "required key is missing", f"add `{key}` (see examples/)"
        elif err["type"] == "literal_error":
            fix = "use one of the values the message lists"
        elif err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
            fix = "change the value as the message says"
        lines.append(f"{where}: {key}: {msg}\n    fix: {fix}")
    return XstiltsError(f"invalid {what}:\n  " + "\n  ".join(lines))


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML config file."""
    path = Path(path)
    config = parse_config(read_yaml_file(path, "config"), path)
    # Relative data paths are relative to the config file, not the working directory.
    for decl in config.tasks.values():
        if decl.base_dir is None:
            decl.base_dir = str(path.parent)
        elif not Path(decl.base_dir).is_absolute():
            decl.base_dir = str(path.parent / decl.base_dir)
    return config
