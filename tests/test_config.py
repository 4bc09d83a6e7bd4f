"""Config validation: unknown keys, wrong types and missing files are clear, located errors."""

import pytest

from xstilts.config import load_config, parse_config
from xstilts.errors import XstiltsError

GOOD = """
seed: 3
encoder: {name: tiny-random}
targets:
  tasks: [demo-nli]
  training: {max_steps: 5}
"""


def test_good_config_fills_defaults():
    cfg = parse_config(GOOD)
    assert cfg.seed == 3
    assert cfg.targets.training.max_steps == 5
    assert cfg.targets.training.batch_size == 16  # the one default, from TrainingConfig
    assert cfg.intermediate is None


def test_unknown_key_names_key_and_line():
    text = GOOD.replace("training: {max_steps: 5}", "training: {max_steps: 5, lerning_rate: 1}")
    with pytest.raises(XstiltsError, match=r"c\.yaml:6: targets\.training\.lerning_rate: unknown key"):
        parse_config(text, "c.yaml")


def test_wrong_type_names_key_and_expectation():
    text = GOOD.replace("seed: 3", "seed: three")
    with pytest.raises(XstiltsError, match=r"c\.yaml:2: seed: Input should be a valid integer"):
        parse_config(text, "c.yaml")


def test_missing_targets_and_bad_yaml():
    with pytest.raises(XstiltsError, match="targets: required key is missing"):
        parse_config("seed: 1\n", "c.yaml")
    with pytest.raises(XstiltsError, match=r"c\.yaml:2: invalid YAML"):
        parse_config("seed: 1\ntargets: {tasks: [a]]\n", "c.yaml")
    with pytest.raises(XstiltsError, match="must be a YAML mapping"):
        parse_config("- a\n- b\n", "c.yaml")


def test_empty_target_list_and_duplicates():
    with pytest.raises(XstiltsError, match="targets.tasks is empty"):
        parse_config("targets: {tasks: []}\n")
    with pytest.raises(XstiltsError, match="tasks listed twice"):
        parse_config("targets: {tasks: [a, a]}\n")


def test_missing_config_file(tmp_path):
    with pytest.raises(XstiltsError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_task_base_dir_is_relative_to_config(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "c.yaml"
    path.write_text(GOOD + """
tasks:
  mine:
    format: classification
    languages: [en]
    reader: jsonl
    paths: {test: "x.jsonl"}
    labels: [a]
""")
    cfg = load_config(path)
    assert cfg.tasks["mine"].base_dir == str(tmp_path / "sub")


def test_unknown_format_in_task_declaration():
    text = GOOD + """
tasks:
  mine: {format: regression, languages: [en], reader: jsonl, paths: {test: x}}
"""
    with pytest.raises(XstiltsError, match=r"tasks\.mine\.format: Input should be"):
        parse_config(text, "c.yaml")


PER_TASK = """
targets:
  tasks: [demo-nli, demo-qa]
  training: {max_steps: 5, learning_rate: 3.0e-4}
  task_training:
    demo-nli: {max_steps: 40, batch_size: 8}
"""


def test_task_training_overrides_one_target_only():
    cfg = parse_config(PER_TASK)
    nli, qa = cfg.targets.training_for("demo-nli"), cfg.targets.training_for("demo-qa")
    assert (nli.max_steps, nli.batch_size, nli.learning_rate) == (40, 8, 3.0e-4)
    assert (qa.max_steps, qa.batch_size) == (5, 16)
    narrowed = cfg.targets.for_task("demo-nli")
    assert narrowed.tasks == ["demo-nli"] and narrowed.training == nli
    assert narrowed.task_training == {}


@pytest.mark.parametrize(("override", "message"), [
    ("demo-nli: {batch_size: 0}", r"task_training\.demo-nli: batch_size: Input should be greater"),
    ("demo-nli: {lerning_rate: 1}", r"task_training\.demo-nli: lerning_rate: Extra inputs"),
    ("demo-ner: {max_steps: 3}", r"task_training names 'demo-ner', which is not in tasks"),
])
def test_task_training_errors_name_task_and_key(override, message):
    text = PER_TASK.replace("demo-nli: {max_steps: 40, batch_size: 8}", override)
    with pytest.raises(XstiltsError, match=r"c\.yaml:2: targets: .*" + message):
        parse_config(text, "c.yaml")


def test_task_training_is_for_targets_only():
    text = PER_TASK + "intermediate:\n  tasks: [demo-mc-en]\n  task_training: {demo-mc-en: {}}\n"
    with pytest.raises(XstiltsError, match="intermediate.task_training: .* targets only"):
        parse_config(text, "c.yaml")


@pytest.mark.parametrize(("heads", "message"), [
    ("{one: [demo-nli, demo-ner]}", r"c\.yaml:4: targets\.shared_heads: head 'one' names "
                                    r"\['demo-ner'\], not tasks of this phase"),
    ("{one: [demo-nli], two: [demo-nli-de, demo-nli]}",
     r"c\.yaml:4: targets\.shared_heads: task 'demo-nli' is in both 'one' and 'two'"),
])
def test_shared_heads_name_tasks_of_the_phase_once(heads, message):
    text = ("targets:\n  tasks: [demo-nli, demo-nli-de]\n  training: {max_steps: 5}\n"
            f"  shared_heads: {heads}\n")
    with pytest.raises(XstiltsError, match=message) as info:
        parse_config(text, "c.yaml")
    assert "fix:" in str(info.value)
    ok = parse_config(text.replace(heads, "{nli: [demo-nli, demo-nli-de]}"), "c.yaml")
    assert ok.targets.shared_heads == {"nli": ["demo-nli", "demo-nli-de"]}


def test_errors_after_validation_still_name_file_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(GOOD.replace("max_steps: 5", "max_steps: 5}\n  languages: {demo-nli: [xx]"))
    config = load_config(path)
    assert config.where("targets", "languages", "demo-nli") == \
        f"{path}:7: targets.languages.demo-nli"
    assert config.model_copy().where("seed") == f"{path}:2: seed"
    assert parse_config(GOOD).where("seed") == "<config>:2: seed"
