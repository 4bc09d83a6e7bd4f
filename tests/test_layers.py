"""House rule: inner layers never import outer ones, and nothing imports the CLI."""

import ast
from pathlib import Path

import xstilts

PACKAGE = Path(xstilts.__file__).parent
INNER = ("formats", "models", "tasks", "train", "evaluate", "features")
OUTER = ("xstilts.pipeline", "xstilts.preflight", "xstilts.demo", "xstilts.report",
         "xstilts.cli", "xstilts.study")


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


def test_nothing_imports_the_cli():
    offenders = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))
                 if p.name not in ("cli.py", "__main__.py")
                 and any(m.startswith("xstilts.cli") for m in imported_modules(p))]
    assert not offenders


def test_the_checker_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from xstilts.pipeline import run\n    import xstilts.cli\n")
    assert imported_modules(path) == {"xstilts.pipeline", "xstilts.cli"}
