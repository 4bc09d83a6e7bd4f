"""Before any work: a run's (or a study's) tasks and base encoder resolved once, everything
it reads checked, and the runtime every job key holds. No torch here: a dry run plans
without it where the encoder and the device are known (models/forward.py `default_device`)."""

from __future__ import annotations

from xstilts.config import RunConfig
from xstilts.errors import XstiltsError
from xstilts.models.encoder import encoder_defaults, read_config, resolve_encoder
from xstilts.models.forward import default_device, device_type, resolve_forward
from xstilts.preflight import check_encoder, check_run
from xstilts.study.fingerprint import encoder_identity
from xstilts.study.plan import Setup, job_runtime
from xstilts.tasks.loading import load_split, strings_of, with_learned_labels
from xstilts.tasks.resolve import resolve_tasks, with_encoder_options
from xstilts.tasks.splits import needed_splits
from xstilts.tasks.task import Task


def prepare(config: RunConfig, pool: tuple[str, ...] = (), label: str = "run",
            sets: tuple[tuple[str, ...], ...] = (),
            device: str | None = None) -> tuple[dict[str, Task], Setup]:
    """Resolve every task (a study's pool too) and the base encoder, once, before any work.

    A locally built tokenizer (tiny-random) or a trimmed vocabulary is made from the text of
    every task involved, so all arms of a study share one encoder. `device`: where the jobs
    will run (default: this machine's GPU if any; a study passes its backend's: a Ray
    cluster's device); with it the encoder's forward is resolved (models/forward.py) and the
    runtime of every job key fixed.
    """
    tasks = {n: with_learned_labels(t) for n, t in resolve_tasks(config, pool).items()}
    check_run(config, tasks, pool, sets)  # bad data, heads or folders: refused before any work
    texts: list[str] = []
    if config.encoder.name == "tiny-random" or config.encoder.trim_vocab:
        # Every language of every task, not just those evaluated: choosing other test
        # languages must not change the encoder (and retrain everything).
        every_language = config.model_copy(update={
            "targets": config.targets.model_copy(update={"languages": {}})})
        texts = strings_of(_all_splits(every_language, resolve_tasks(every_language, pool)))
    try:
        base = resolve_encoder(config.encoder.name, texts, config.seed)
        model_config = read_config(base, config.encoder.trust_remote_code)
    except XstiltsError as exc:  # say which config line names the encoder
        raise XstiltsError(f"{config.where('encoder', 'name')}: {exc}") from None
    check_encoder(config, model_config)
    device = device_type(device or default_device())
    forward = resolve_forward(config.encoder.forward, device, model_config,
                              compiled=compiles(config), where=config.where("encoder", "forward"))
    defaults = encoder_defaults(model_config)
    tasks = {n: with_encoder_options(t, config.encoder, defaults) for n, t in tasks.items()}
    if config.encoder.trim_vocab:
        from xstilts.models.trim import ensure_trimmed

        prefixes = sorted({t.options["prefix"] for t in tasks.values() if t.options.get("prefix")})
        base = str(ensure_trimmed(base, texts + [p + t for p in prefixes for t in texts]))
    # Jobs get the resolved forward (hf or unpadded), so every job runs what its key says.
    encoder = config.encoder.model_copy(update={"forward": forward})
    return tasks, Setup(config.encoder.name, base, encoder_identity(base), encoder, label,
                        runtime=job_runtime(device, forward))


def compiles(config: RunConfig) -> bool:
    """Whether any phase compiles the encoder (training.compile: Hugging Face's forward)."""
    phases = [config.intermediate] if config.intermediate else []
    return any(p.training.compile for p in phases) or any(
        config.targets.for_task(name).training.compile for name in config.targets.tasks)


def _all_splits(config: RunConfig, tasks: dict[str, Task]):
    """Every split any job of the run may read."""
    needed = needed_splits(tasks, config.targets.tasks, config.targets.eval_split)
    return (load_split(task, split, lang) for task, split, lang in needed)
