"""Nothing outside ``alerts/rules/`` names a rule kind by string: the rest of confops asks the
kind (its facts and hooks in ``alerts/rules/base.py``) or refers to it as ``SomeKind.name``.

A kind's knowledge spread by string literal drifts: a new kind missing from a hand-kept list of
causes, or a renamed one still compared with its old name, fails silently. This test reads every
product module with ``ast`` and fails on a string literal equal to a kind's name.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

from alerts.rules.base import all_kinds

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ("alerts", "monitoring", "reports", "confops", "scripts")
# Where a kind's name belongs: the kinds themselves, and migrations (history, not code).
EXEMPT_DIRS = ("alerts/rules/",)


def product_modules() -> list[Path]:
    modules = []
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" in path.parts or relative.startswith(EXEMPT_DIRS):
                continue
            modules.append(path)
    return modules


def model_field_names() -> set[str]:
    """A kind may share its name with a model field (``Deployment.consecutive_failures``): a
    literal naming that field reads the field, not the kind."""
    return {field.name for model in apps.get_models() for field in model._meta.get_fields()}


def error_types(tree: ast.AST) -> set[int]:
    """Literals that are a pydantic error's type (``PydanticCustomError("duration", ...)``)."""
    ids = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            == "PydanticCustomError"
            and node.args
        ):
            ids.add(id(node.args[0]))
    return ids


def kind_literals(source: str, kinds: set[str]) -> list[tuple[int, str]]:
    """(line, literal) of each string in ``source`` that is the name of one of ``kinds``."""
    tree = ast.parse(source)
    allowed = error_types(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in kinds
        and id(node) not in allowed
    ]


def test_no_product_module_outside_the_kinds_names_a_kind_by_string() -> None:
    kinds = set(all_kinds()) - model_field_names()
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line}: {literal!r}"
        for path in product_modules()
        for line, literal in kind_literals(path.read_text(encoding="utf-8"), kinds)
    ]
    assert found == [], "ask the kind (alerts/rules/base.py) instead:\n" + "\n".join(found)


def test_the_check_sees_a_kind_compared_by_string_but_not_a_pydantic_error_type() -> None:
    source = (
        'if rule.kind == "volume_drop":\n'
        '    raise PydanticCustomError("duration", "must be zero or more seconds")\n'
        'label = "volume drop"\n'
    )
    assert kind_literals(source, set(all_kinds())) == [(1, "volume_drop")]


def test_the_check_reads_every_app() -> None:
    read = {path.relative_to(ROOT).parts[0] for path in product_modules()}
    assert read >= {"alerts", "monitoring", "reports", "confops"}
