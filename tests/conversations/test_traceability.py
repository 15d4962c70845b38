"""The traceability table beside the questionnaire stays true: ids that exist, tests that exist, nothing left out."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from conversations.questionnaire import DEFAULT_PATH

ROOT = Path(__file__).resolve().parents[2]
TABLE = DEFAULT_PATH.with_name("traceability.toml")
DOCTRINE_RULES = {"legal_basis", "human_decision"}


def _table() -> dict:
    return tomllib.loads(TABLE.read_text(encoding="utf-8"))


def _rows() -> list[tuple[str, dict]]:
    table = _table()
    return ([(f"criterion {row['number']}", row) for row in table["criteria"]]
            + [(f"doctrine rule '{row['id']}'", row) for row in table["doctrine"]])


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_the_table_is_about_the_questionnaire_shipped(questionnaire):
    assert _table()["questionnaire"] == questionnaire.version


def test_every_criterion_and_both_doctrine_rules_have_a_question_a_rule_and_a_test(questionnaire):
    table = _table()
    assert sorted(row["number"] for row in table["criteria"]) == [c.number for c in questionnaire.rated_criteria]
    assert {row["id"] for row in table["doctrine"]} == DOCTRINE_RULES
    for name, row in _rows():
        for column in ("questions", "rules", "tests"):
            assert row.get(column), f"{name} has no {column}"


@pytest.mark.parametrize(("name", "row"), _rows(), ids=[name for name, _row in _rows()])
def test_every_id_and_test_named_exists(questionnaire, name, row):
    combined = {r.id for r in questionnaire.combined_rules}
    for question_id in row["questions"]:
        assert questionnaire.has(question_id), f"{name}: no question '{question_id}'"
    for rule in row["rules"]:
        if questionnaire.has(rule):
            assert questionnaire.question(rule).rules, f"{name}: question '{rule}' has no rule"
        else:
            assert rule in combined, f"{name}: '{rule}' is neither a question with rules nor a combined rule"
    for test in row["tests"]:
        path, _, function = test.partition("::")
        assert (ROOT / path).is_file(), f"{name}: no test file {path}"
        assert function in _test_functions(ROOT / path), f"{name}: no test {test}"


def test_nothing_in_the_questionnaire_is_left_out_of_the_table(questionnaire):
    """A question or a rule added to the questionnaire must say which criterion it serves, and be tested."""
    by_number = {row["number"]: row for row in _table()["criteria"]}
    for question in questionnaire.questions:
        if question.criterion:
            assert question.id in by_number[question.criterion]["questions"], (
                f"question '{question.id}' is missing from criterion {question.criterion} in {TABLE.name}")
    traced = {rule for _name, row in _rows() for rule in row["rules"]}
    ruled = {q.id for q in questionnaire.questions if q.rules} | {r.id for r in questionnaire.combined_rules}
    assert ruled - traced == set(), f"rules missing from {TABLE.name}"
