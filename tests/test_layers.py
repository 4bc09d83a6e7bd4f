"""House rules: inner layers never import outer ones, the outer modules import only those
before them, and planning imports neither torch nor the phase bodies."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import xstilts

PACKAGE = Path(xstilts.__file__).parent
INNER = ("formats", "models", "tasks", "train", "evaluate", "features")
OUTER = ("xstilts.preflight", "xstilts.demo", "xstilts.report", "xstilts.cli", "xstilts.study",
         "xstilts.rank")
# The outer modules in order: each may import those before it, never those after.
OUTER_ORDER = (("xstilts.preflight", "xstilts.report"), ("xstilts.study",), ("xstilts.rank",),
               ("xstilts.demo",), ("xstilts.cli",))
# What compiles a config or a study into jobs (and what a dry run reads)...
PLANNING = ("xstilts.config", "xstilts.formats.spec", "xstilts.tasks.resolve",
            "xstilts.tasks.splits", "xstilts.study.plan", "xstilts.study.spec",
            "xstilts.study.prepare")
# ...and what runs them.
PHASES = ("torch", "xstilts.study.phases", "xstilts.study.jobs", "xstilts.study.execute",
          "xstilts.study.run", "xstilts.formats.base", "xstilts.models.build",
          "xstilts.train.loop", "xstilts.features")


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a file imports (including imports inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_inner_layers_do_not_import_outer_ones():
    offenders = []
    for layer in INNER:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            bad = sorted(m for m in imported_modules(path) if m.startswith(OUTER))
            offenders += [f"{path.relative_to(PACKAGE)} imports {m}" for m in bad]
    assert not offenders


def module_files(name: str) -> list[Path]:
    """The source files of a module or package of xstilts."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def test_outer_modules_import_only_those_before_them():
    offenders = []
    for level, names in enumerate(OUTER_ORDER):
        later = tuple(n for after in OUTER_ORDER[level + 1:] for n in after)
        for path in (p for n in names for p in module_files(n)):
            bad = sorted(m for m in imported_modules(path) if m.startswith(later))
            offenders += [f"{path.relative_to(PACKAGE)} imports {m}" for m in bad]
    assert not offenders


def test_every_outer_module_has_its_place_in_the_order():
    placed = {n for names in OUTER_ORDER for n in names}
    assert placed == set(OUTER)


def test_planning_imports_neither_torch_nor_the_phase_bodies():
    code = (f"import sys\nfor m in {PLANNING!r}: __import__(m)\n"
            f"print(sorted(m for m in sys.modules if m.startswith({PHASES!r})))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


def test_a_dry_run_of_a_study_whose_data_is_not_here_imports_no_torch(tmp_path):
    # The paper-scale study read from the hub (no mirror, an empty Hugging Face cache): the
    # dry run plans and costs it from the study alone (study/dry_run.py).
    study = PACKAGE.parents[1] / "examples" / "paper" / "study" / "scaling.yaml"
    code = ("import sys\nfrom xstilts.cli import main\n"
            f"status = main(['study', {str(study)!r}, '--dry-run', '--out', {str(tmp_path)!r}])\n"
            f"print('loaded:', sorted(m for m in sys.modules if m.startswith({PHASES!r})))\n"
            "sys.exit(status)")
    env = {k: v for k, v in os.environ.items() if k != "XSTILTS_HUB_MIRROR"}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "GPU-h" in done.stdout and "store not checked" in done.stdout, done.stdout
    assert "loaded: []" in done.stdout


def test_nothing_imports_the_cli():
    offenders = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))
                 if p.name not in ("cli.py", "__main__.py")
                 and any(m.startswith("xstilts.cli") for m in imported_modules(p))]
    assert not offenders


def test_the_checker_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from xstilts.study.run import run_config\n"
                    "    import xstilts.cli\n")
    assert imported_modules(path) == {"xstilts.study.run", "xstilts.cli"}
