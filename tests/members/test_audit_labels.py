"""Every audit action recorded anywhere in the code base has a readable, translated label."""

import ast
from pathlib import Path

import pytest
from django.utils import translation

from cobudget.models import AllocationKind
from cobudget.models import CommentKind as BucketCommentKind
from contributions.models import CommentKind as ContributionCommentKind
from members.audit_labels import AUDIT_ACTION_LABELS, audit_action_label

ROOT = Path(__file__).resolve().parents[2]
APPS = ("contrib_budget", "members", "budgets", "contributions", "cobudget")

# Action codes built with an f-string: the values their placeholder can take.
# A new f-string action must be added here (the test says which).
DYNAMIC_ACTIONS = {
    "contribution.{kind}": [f"contribution.{kind}" for kind in ContributionCommentKind.values],
    "cobudget.bucket_{kind}": [f"cobudget.bucket_{kind}" for kind in BucketCommentKind.values],
    "cobudget.{allocation.kind}": [f"cobudget.{kind}" for kind in AllocationKind.values],
}


def _constants(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def _pattern(node: ast.JoinedStr) -> str:
    return "".join(
        part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}" for part in node.values
    )


def _action_codes() -> tuple[set[str], set[str]]:
    """Codes passed as `action=...` to any call or assigned to a variable named `action`, and f-string patterns."""
    codes: set[str] = set()
    patterns: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                values = []
                if isinstance(node, ast.Call):
                    values = [kw.value for kw in node.keywords if kw.arg == "action"]
                elif isinstance(node, ast.Assign):
                    if any(isinstance(t, ast.Name) and t.id == "action" for t in node.targets):
                        values = [node.value]
                for value in values:
                    if isinstance(value, ast.JoinedStr):
                        patterns.add(_pattern(value))
                    codes.update(code for code in _constants(value) if "." in code)
    return codes, patterns


def test_the_source_scan_finds_the_actions_of_every_app():
    codes, patterns = _action_codes()
    prefixes = {code.split(".")[0] for code in codes}
    assert {"collective", "membership", "budget", "contribution", "cobudget", "period", "payout"} <= prefixes
    assert {"membership.left", "membership.removed", "contribution.approved", "contribution.adjusted"} <= codes
    assert patterns


def test_every_action_code_used_in_the_code_has_a_label():
    codes, patterns = _action_codes()
    unknown_patterns = patterns - set(DYNAMIC_ACTIONS)
    assert not unknown_patterns, f"list the values of these f-string actions in DYNAMIC_ACTIONS: {unknown_patterns}"
    for pattern in patterns:
        codes.update(DYNAMIC_ACTIONS[pattern])
    missing = sorted(codes - set(AUDIT_ACTION_LABELS))
    assert not missing, f"add labels to members.audit_labels.AUDIT_ACTION_LABELS for {missing}"


@pytest.mark.parametrize("action", sorted(AUDIT_ACTION_LABELS))
def test_every_audit_label_is_translated_to_french(action):
    with translation.override("en"):
        english = audit_action_label(action)
    with translation.override("fr"):
        french = audit_action_label(action)
    assert english != action
    assert french != english, f"no French label for {action} ({english})"
