"""The paper configs (examples/paper/) load, resolve every task, carry jiant's settings, and
equal their generator's output. Nothing here reads data or downloads anything."""

import importlib.util
import sys
from pathlib import Path

import pytest

from xstilts.config import load_config
from xstilts.tasks.registry import resolve_task
from xstilts.tasks.resolve import resolve_tasks

PAPER = Path(__file__).resolve().parents[1] / "examples" / "paper"
README = Path(__file__).resolve().parents[1] / "README.md"
CONFIGS = sorted(PAPER.glob("*.yaml"))
INTERMEDIATE = ["anli_plus", "mnli", "qqp", "squad", "squad_v2", "hellaswag", "cosmosqa",
                "commonsenseqa", "ccg"]
TRAINED_TARGETS = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa"]


def _generator():
    spec = importlib.util.spec_from_file_location("paper_generate", PAPER / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_expected_files_exist():
    names = {p.stem for p in CONFIGS}
    assert names == {*INTERMEDIATE, "baseline", "multitask", "mlm", "translate-train",
                     "bucc2018"}


def test_files_equal_the_generator_output():
    files = _generator().render()
    assert set(files) == {p.name for p in CONFIGS} | {"study/grid.yaml", "study/scaling.yaml"}
    for name, text in files.items():
        assert (PAPER / name).read_text(encoding="utf-8") == text, (
            f"{name} differs from generate.py's output: run "
            "`python examples/paper/generate.py` and commit the result")


def test_the_paper_grid_study_validates_offline():
    from xstilts.study.spec import load_study

    study = load_study(PAPER / "study" / "grid.yaml")  # resolves every task, reads no data
    arms = study.arms()
    # The baseline, the nine tasks one at a time, all nine together; one seed each.
    assert [a.tasks for a in arms] == [()] + [(t,) for t in INTERMEDIATE] + [tuple(INTERMEDIATE)]
    assert study.base.targets.tasks == TRAINED_TARGETS + ["tatoeba"]
    assert study.base.targets.training_for("udpos").epochs == 10
    single = load_config(PAPER / "mnli.yaml")  # the same settings as the single configs
    assert study.base.targets.model_dump() == single.targets.model_dump()
    assert (study.base.intermediate.training.model_dump()
            == single.intermediate.training.model_dump())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_every_task_resolves(path):
    config = load_config(path)
    tasks = resolve_tasks(config)  # reads no data
    assert config.encoder.name == "xlm-roberta-large"
    assert config.encoder.retrieval_layer is None  # XLM-R Large's own: 14
    assert config.targets.eval_split == "dev"
    for name in config.targets.tasks:
        assert name in tasks
        if tasks[name].format not in ("retrieval", "bitext_mining"):
            config.targets.training_for(name)  # valid settings for every trained target


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.stem != "bucc2018"],
                         ids=lambda p: p.name)
def test_targets_are_trained_as_jiant_ran_them(path):
    config = load_config(path)
    targets = config.targets
    assert targets.tasks == [*TRAINED_TARGETS, "tatoeba"]
    expected = {  # d_write_configs.sh and c_tokenize_and_cache.sh
        "xnli": (2, 32, 256), "pawsx": (5, 32, 256), "udpos": (10, 32, 256),
        "panx": (10, 32, 256), "xquad": (2, 16, 384), "mlqa": (2, 16, 384),
        "tydiqa": (2, 16, 384)}
    for name, (epochs, batch, length) in expected.items():
        t = targets.training_for(name)
        assert (t.epochs, t.batch_size * t.grad_accum, t.max_length) == (epochs, batch, length)
        assert t.learning_rate == 1e-5  # e_run_models.sh
        assert (t.eval_every, t.patience, t.dev_limit) == (1000, 30, 500)
        assert t.warmup_ratio == 0.1 and t.max_steps is None
    for qa in ("xquad", "mlqa", "tydiqa"):  # jiant selects QA on (EM + F1) / 2
        assert config.task_options[qa]["main_metric"] == "em_f1"


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.stem not in ("baseline", "bucc2018")],
                         ids=lambda p: p.name)
def test_intermediate_phase_is_jiants_simple_runscript(path):
    phase = load_config(path).intermediate
    t = phase.training
    assert (t.learning_rate, t.epochs, t.max_length, t.batch_size) == (1e-5, 3, 256, 4)
    assert (t.eval_every, t.evaluations, t.dev_limit) == (0, 1, 500)  # one evaluation, at the end
    assert t.sampler == "proportional" and t.max_steps is None


def test_single_task_configs_and_the_mixture():
    for task in INTERMEDIATE:
        assert load_config(PAPER / f"{task}.yaml").intermediate.tasks == [task]
    assert load_config(PAPER / "baseline.yaml").intermediate is None
    multi = load_config(PAPER / "multitask.yaml")
    assert multi.intermediate.tasks == INTERMEDIATE
    assert multi.intermediate.training.sampler == "proportional"
    tt = load_config(PAPER / "translate-train.yaml").intermediate
    assert tt.tasks[0] == "mnli" and len(tt.tasks) == 15
    assert all(t.startswith("xnli_tt_") for t in tt.tasks[1:])
    assert tt.shared_heads == {"nli": tt.tasks}


def test_mlm_alternative_declares_a_text_mlm_task_with_placeholder_paths():
    config = load_config(PAPER / "mlm.yaml")
    decl = config.tasks["wiki-mlm"]
    assert decl.format == "mlm" and decl.reader == "text"
    assert decl.base_dir.startswith("/path/to/")  # the user fills it in
    assert len(decl.languages) == 40 and decl.train_languages == decl.languages
    assert "en" in decl.languages and "wiki-mlm" in config.intermediate.tasks


@pytest.mark.parametrize("name", ["ccg", "multitask"])
def test_declared_ccg_matches_the_builtin(name):
    """The configs shadow the built-in `ccg` only to give it its own data folder."""
    config = load_config(PAPER / f"{name}.yaml")
    declared = resolve_tasks(config)["ccg"]
    builtin = resolve_task("ccg").with_source("local", "/path/to/data")
    assert declared.format == builtin.format and declared.languages == builtin.languages
    assert declared.labels == builtin.labels
    assert declared.source.reader == builtin.source.reader
    assert declared.source.convert is None and builtin.source.convert is None
    for split in ("train", "dev", "test"):
        assert declared.source.path(split, "en") == builtin.source.path(split, "en")
    for key, value in builtin.options.items():
        assert declared.options[key] == value
    assert config.data.source == "hub"  # every other task still reads the hub


def test_bucc_reads_xtremes_files_not_the_gold_only_hub_copy():
    config = load_config(PAPER / "bucc2018.yaml")
    assert config.targets.tasks == ["bucc2018"] and config.intermediate is None
    assert config.data.source == "local" and not config.data.allow_gold_only
    task = resolve_tasks(config)["bucc2018"]
    assert "not_comparable" not in task.options


def test_the_scaling_study_dry_runs_in_seconds_before_its_data_exists(tmp_path, capsys):
    """examples/paper/study/scaling.yaml: 41 tasks (the nine and eight of them translated
    into four languages), k up to 8 with language strata, three seeds, an equal budget; its
    dry run needs no data (hub tasks, placeholder files) and gives FLOPs and GPU-hours."""
    import re
    import time

    from xstilts.cli import main
    from xstilts.study.spec import load_study

    study = load_study(PAPER / "study" / "scaling.yaml")
    pool = study.spec.pool
    assert len(pool) == 41 and pool[:9] == INTERMEDIATE
    assert set().union(*study.languages.values()) == {"en", "de", "es", "fr", "ru"}
    assert set(study.families.values()) == set(INTERMEDIATE)  # a translation: its task's
    assert study.families["xnli_tt_de"] == "mnli" and study.families["squad_tt_fr"] == "squad"
    assert study.spec.sizes == [0, 1, 2, 4, 8] and study.spec.seeds.intermediate == [0, 1, 2]
    assert [r.describe() for r in study.regimes()] == ["total_steps 50,000"]
    assert [study.n_languages(s) for s in study.sets(2)] == [1] * 5 + [2] * 5
    assert [study.n_languages(s) for s in study.sets(8)] == [1] * 4 + [2] * 4 + [4] * 4
    started = time.perf_counter()
    assert main(["study", str(PAPER / "study" / "scaling.yaml"), "--out",
                 str(tmp_path / "out"), "--dry-run", "--gpu", "h100", "--mfu", "0.4"]) == 0
    assert time.perf_counter() - started < 60
    printed = capsys.readouterr().out
    assert not (tmp_path / "out").exists()  # nothing read, downloaded or written
    table = printed.splitlines()[1:6]
    assert table[0].split() == ["jobs", "planned", "in", "store", "to", "run", "tokens",
                                "FLOPs", "GPU-h"]
    assert re.fullmatch(r"intermediate\s+132\s+-\s+-\s+\S+e\+10\s+\S+e\+19\s+\S+", table[1])
    assert re.fullmatch(r"total\s+\d+\s+-\s+-\s+\S+e\+\d+\s+\S+e\+20\s+\d+", table[4])
    assert "GPU-hours: h100 at 989 TFLOP/s dense bf16 peak x 40% MFU" in printed
    assert "budgets: total_steps 50,000" in printed
    # README quotes this table (rerun the dry run and paste it when the study changes).
    assert "\n".join(table) in README.read_text(encoding="utf-8")


def test_readme_cost_table_is_the_generators():
    assert _generator().cost_table() in README.read_text(encoding="utf-8")


def test_bucc_config_uses_the_papers_oracle_protocol():
    from xstilts.tasks.splits import scored_split

    config = load_config(PAPER / "bucc2018.yaml")
    bucc = resolve_tasks(config)["bucc2018"]
    # jiant/tasks/evaluate/core.py scores BUCC with threshold=None: tuned on the scored data.
    assert bucc.options["protocol"] == "oracle"
    assert {scored_split(bucc, config.targets.eval_split, lang) for lang in bucc.languages} \
        == {"dev"}
