"""Names that end up in paths: one check (xstilts.names), applied by configs and studies."""

import pytest

from xstilts.config import parse_config
from xstilts.errors import XstiltsError
from xstilts.names import name_problem
from xstilts.tasks.registry import builtin_tasks


@pytest.mark.parametrize(("name", "problem"), [
    ("../x", "path separator"),
    ("/abs", "path separator"),
    ("a\\b", "path separator"),
    ("C:x", "path separator"),
    ("..", "'..'"),
    ("x..y", "'..'"),
    (".", "'..' (or is '.')"),
    ("", "empty"),
    ("  ", "empty"),
    (" en", "white space"),
    ("en\n", "white space"),
    ("e\tn", "control character"),
    ("e\x00n", "control character"),
    ("~root", "home folder"),
    (3, "expected a text name"),
])
def test_unsafe_names_are_refused_with_the_reason(name, problem):
    assert problem in name_problem(name)


def test_every_builtin_task_and_language_is_a_safe_name():
    tasks = builtin_tasks()
    languages = {lang for t in tasks.values()
                 for lang in [*t.languages, t.train_language, *(t.train_languages or [])]}
    assert [n for n in [*tasks, *languages] if name_problem(n)] == []
    assert name_problem("demo-nli.v2_x+y") is None


@pytest.mark.parametrize(("yaml_text", "where"), [
    ("targets: {tasks: [../x]}", "c.yaml:1: targets.tasks.0"),
    ("targets: {tasks: [a], languages: {a: [/abs]}}", "c.yaml:1: targets.languages.a.0"),
    ("targets: {tasks: [a]}\nsuites: {../demo: {}}", "c.yaml:2: suites.../demo.[key]"),
    ("targets: {tasks: [a, b], shared_heads: {/h: [a, b]}}",
     "c.yaml:1: targets.shared_heads./h.[key]"),
    ("targets: {tasks: [a]}\ntasks:\n  a: {format: mlm, languages: [en], reader: text,\n"
     "      paths: {test: x}, train_languages: [en, ../../etc]}",
     "c.yaml:4: tasks.a.train_languages.1"),
])
def test_config_names_are_checked_where_they_are_given(yaml_text, where):
    with pytest.raises(XstiltsError) as info:
        parse_config(yaml_text, "c.yaml")
    message = str(info.value)
    assert f"{where}: the name" in message and "fix:" in message
