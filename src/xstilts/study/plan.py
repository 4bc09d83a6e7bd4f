"""Plan, then execute: a run or a study compiled into an immutable graph of content-keyed jobs.

    intermediate  (task set, seed)                      -> checkpoints/intermediate-<key>/
    target        (target, start checkpoint, seed)      -> checkpoints/target-<task>-<key>/
    evaluation    (model, target, language, split)      -> evaluations/<task>-<lang>-<key>/

Everything a job needs is resolved here, before any work: tasks with their final options,
training settings, the encoder. A job's key covers exactly what changes its output: the
encoder's identity (folder content hashes or hub id and revision), the data's fingerprint
(file content hashes), the settings, the seed, the code version, and the runtime
(`job_runtime`: device type, torch and transformers major.minor, the encoder's forward), so
a store shared by CPU and GPU workers, or by two installs, never hands one's results to the
other. The runtime is planned for the backend's device (a Ray cluster's: study/study.py), and a
worker whose runtime differs refuses the job (`runtime_mismatch`, study/jobs.py).
Evaluation-only settings (languages, test_limit, eval batch size) are in evaluation keys
alone: changing them re-evaluates and never retrains. Identical work gets one key, so it
runs once per store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import version

from xstilts import __version__
from xstilts.artifacts import content_key
from xstilts.config import EncoderConfig, PhaseConfig, RunConfig, TrackingConfig
from xstilts.formats.spec import format_spec
from xstilts.study.budget import Regime
from xstilts.study.fingerprint import data_fingerprint, training_view
from xstilts.tasks.splits import scored_split, threshold_split
from xstilts.tasks.task import Task
from xstilts.train.batching import BUCKET_WIDTH

# Bump when a job's outputs change for the same inputs (a format's features, the loop, ...).
# 2: encoder loads draw no random numbers; retrieval sides embedded apart. 3: the unpadded
# forward (models/unpadded.py: other dropout draws on a CPU) and fused AdamW on a CPU.
# 4: attention dropout's mask on a CPU drawn 15 bits a value (other draws); gradient
# clipping's scale applied inside fused AdamW (a division by its inverse: other roundings).
# 5: CPU attention with dropout scales and masks the scores inside the product (baddbmm:
# other roundings). 6: CPU attention with dropout over packed rows (models/packed_attention.py:
# its mask laid out heads first, other draws per position). 7: CPU tricks removed (issue 26,
# point 2): attention dropout through SDPA, hidden dropout through nn.Dropout (torch's
# masks), clipping by clip_grad_norm_ before the step (other draws and roundings).
JOBS_VERSION = 7
CODE_VERSION = f"xstilts {__version__} / jobs {JOBS_VERSION}"
# Encoder settings that change what training produces (not where the model is read from).
TRAINING_ENCODER_KEYS = ("freeze_embeddings", "trim_vocab", "freeze_layers",
                         "attention_dropout", "layer_aggregation", "trust_remote_code")


@dataclass(frozen=True)
class Setup:
    """What every job of a plan shares: the resolved base encoder and its settings."""

    encoder_name: str  # as configured (e5-small, a folder, a hub id)
    encoder_location: str  # the folder (or hub id) jobs load
    encoder_identity: dict
    encoder: EncoderConfig
    label: str = "run"  # the study's name; "run" for a single config
    # Experiment trackers, resolved (dir absolute); observability only, in no job's key.
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    # What the jobs run on and with (`job_runtime`), in every job's key.
    runtime: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IntermediateJob:
    """Phase (ii): train the base encoder on a set of tasks at once."""

    key: str
    tasks: tuple[Task, ...]
    phase: PhaseConfig
    seed: int
    kind: str = "intermediate"
    deps: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        return f"checkpoints/intermediate-{self.key}"

    @property
    def label(self) -> str:
        return "intermediate " + "+".join(t.name for t in self.tasks)


@dataclass(frozen=True)
class TargetJob:
    """Phase (iii), training: fine-tune a start checkpoint on a target's English data."""

    key: str
    task: Task
    phase: PhaseConfig  # narrowed to this target, with its own training settings
    seed: int
    start: str | None  # the intermediate job's key; None = the base encoder
    kind: str = "target"
    intermediate: tuple[str, ...] = ()  # the start's task set (names; for trackers)

    @property
    def deps(self) -> tuple[str, ...]:
        return (self.start,) if self.start else ()

    @property
    def folder(self) -> str:
        return f"checkpoints/target-{self.task.name}-{self.key}"

    @property
    def label(self) -> str:
        return f"target {self.task.name}"


@dataclass(frozen=True)
class EvalJob:
    """Phase (iii), zero-shot: one target in one language with one model."""

    key: str
    task: Task
    lang: str
    split: str  # test | dev
    phase: PhaseConfig  # test_limit, eval batch size, sequence length
    model: str | None  # the target job's key (trained targets); None: the start model
    start: str | None  # untrained targets: the intermediate job's key (None = base encoder)
    kind: str = "evaluation"

    @property
    def deps(self) -> tuple[str, ...]:
        return tuple(k for k in (self.model, self.start) if k)

    @property
    def folder(self) -> str:
        return f"evaluations/{self.task.name}-{self.lang}-{self.key}"

    @property
    def label(self) -> str:
        return f"evaluate {self.task.name} {self.lang}"


Job = IntermediateJob | TargetJob | EvalJob


@dataclass(frozen=True)
class Arm:
    """One cell of a study: an intermediate task set (empty = baseline) and two seeds."""

    tasks: tuple[str, ...]
    intermediate_seed: int
    target_seed: int
    budget: Regime | None = None  # the intermediate phase's budget (study/budget.py)

    @property
    def run_id(self) -> str:
        # Without a budget: the ids of studies made before budgets existed.
        budget = {"budget": self.budget.name} if self.budget else {}
        return content_key({"tasks": list(self.tasks), "si": self.intermediate_seed,
                            "st": self.target_seed, **budget})


@dataclass(frozen=True)
class ArmJobs:
    """Which jobs produce an arm's results."""

    arm: Arm
    intermediate: str | None
    targets: dict[str, str | None] = field(default_factory=dict)  # target -> its training job
    evaluations: dict[tuple[str, str], str] = field(default_factory=dict)  # (target, lang) -> key


@dataclass(frozen=True)
class Plan:
    """The whole graph: jobs by key in dependency order, and the arms they answer."""

    setup: Setup
    jobs: dict[str, Job]
    arms: tuple[ArmJobs, ...]
    targets: tuple[str, ...]
    eval_split: str = "test"  # what the config asked for; each job's `split` is what it reads

    def count(self) -> dict[str, int]:
        """Jobs per kind."""
        out = {"intermediate": 0, "target": 0, "evaluation": 0}
        for job in self.jobs.values():
            out[job.kind] += 1
        return out


def training_settings(phase: PhaseConfig) -> dict:
    """The training settings that change a trained model (the eval batch size and how often
    the resume state is saved do not, nor the bucket width of ungrouped batches)."""
    settings = phase.training.model_dump(exclude={"eval_batch_size", "save_every"})
    # Left out at its default (the batches of stores made before the setting existed, whose
    # jobs keep their keys) and where batches are not grouped.
    if settings["length_bucket_width"] == BUCKET_WIDTH or not settings["group_by_length"]:
        del settings["length_bucket_width"]
    if settings["examples_per_task"] is None:  # likewise, before the cap existed
        del settings["examples_per_task"]
    return settings


def major_minor(package: str) -> str:
    """'2.13' for an installed 2.13.0+cpu."""
    return ".".join(version(package).split("+")[0].split(".")[:2])


def job_runtime(device: str, forward: str) -> dict:
    """What changes a job's numbers beyond its inputs: the device type (cpu, cuda), torch's
    and transformers' major.minor, and the forward that runs the encoder (models/forward.py)."""
    return {"device": device, "torch": major_minor("torch"),
            "transformers": major_minor("transformers"), "forward": forward}


def runtime_mismatch(planned: dict, device: str) -> str | None:
    """Why a worker on `device` (a device type) with this install cannot run jobs planned
    under `planned` (their keys say `planned`; None: it can). The forward follows from the
    device and the encoder, so the device type, torch and transformers say it all."""
    here = job_runtime(device, planned.get("forward", ""))
    differ = [k for k in ("device", "torch", "transformers") if k in planned
              and planned[k] != here[k]]
    if not differ:
        return None
    shown = {k: here[k] for k in differ}
    return (f"this worker runs {describe_runtime(shown)}, but the study was planned for "
            f"{describe_runtime({k: planned[k] for k in differ})} (every job key holds the "
            "runtime), so its results would be filed under another runtime's keys: not run.\n"
            "  fix: plan where the jobs run: every worker needs the planning process's device "
            "type and torch/transformers versions (on Ray, the same install on every node; "
            "the driver plans for the cluster's device).")


def describe_runtime(runtime: dict) -> str:
    """'device cpu, torch 2.13, transformers 5.25, forward unpadded'."""
    return ", ".join(f"{k} {runtime[k]}" for k in ("device", "torch", "transformers",
                                                     "forward") if k in runtime)


def _encoder_settings(encoder: EncoderConfig) -> dict:
    return {k: getattr(encoder, k) for k in TRAINING_ENCODER_KEYS}


def compile_plan(config: RunConfig, tasks: dict[str, Task], arms: list[Arm],
                 setup: Setup) -> Plan:
    """Jobs for every arm over the resolved `tasks` (targets from config.targets), deduplicated
    by key, in dependency order (intermediate, target, evaluation)."""
    base = {"encoder": setup.encoder_identity, "settings": _encoder_settings(setup.encoder),
            "code": CODE_VERSION, "runtime": setup.runtime}
    phase_ii = config.intermediate or PhaseConfig()
    intermediate: dict[str, IntermediateJob] = {}
    target_jobs: dict[str, TargetJob] = {}
    evals: dict[str, EvalJob] = {}
    arm_jobs = []
    for arm in arms:
        inter_key = None
        if arm.tasks:
            training = (arm.budget.training(phase_ii.training, len(arm.tasks)) if arm.budget
                        else phase_ii.training)
            phase = phase_ii.model_copy(update={"tasks": list(arm.tasks), "training": training})
            inter_key = content_key({
                **base, "kind": "intermediate", "seed": arm.intermediate_seed,
                "tasks": [training_view(tasks[t]) for t in arm.tasks],
                "shared_heads": phase.shared_heads, "training": training_settings(phase)})
            intermediate.setdefault(inter_key, IntermediateJob(
                inter_key, tuple(tasks[t] for t in arm.tasks), phase, arm.intermediate_seed))
        start = {"intermediate": inter_key} if inter_key else {"base": True}
        trained, evaluated = {}, {}
        for name in config.targets.tasks:
            task, phase = tasks[name], config.targets.for_task(name)
            fmt = format_spec(task.format)
            model_key = None
            if fmt.trainable:
                model_key = content_key({
                    **base, "kind": "target", "start": start, "seed": arm.target_seed,
                    "task": training_view(task), "training": training_settings(phase)})
                target_jobs.setdefault(model_key, TargetJob(
                    model_key, task, phase, arm.target_seed, inter_key,
                    intermediate=arm.tasks))
            trained[name] = model_key
            for lang in task.languages:
                split = scored_split(task, config.targets.eval_split, lang)
                splits = tuple(dict.fromkeys([split, threshold_split(task) or split]))
                key = content_key({
                    **base, "kind": "evaluation", "model": model_key or start,
                    "task": {**task.describe(), "languages": None},
                    "data": data_fingerprint(task, splits, (lang,)), "lang": lang,
                    "split": split, "test_limit": phase.test_limit,
                    # Sequence length changes features; batch size and bf16 do not (CPU).
                    "max_length": phase.training.max_length})
                evals.setdefault(key, EvalJob(key, task, lang, split, phase, model_key,
                                              None if model_key else inter_key))
                evaluated[(name, lang)] = key
        arm_jobs.append(ArmJobs(arm, inter_key, trained, evaluated))
    jobs = {**intermediate, **target_jobs, **evals}
    return Plan(setup, jobs, tuple(arm_jobs), tuple(config.targets.tasks),
                config.targets.eval_split)

