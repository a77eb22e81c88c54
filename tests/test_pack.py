"""The method pack: loaded into frozen typed objects, validated, and the only home of metric ids."""

from __future__ import annotations

import ast
import copy
import dataclasses
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from nhs_league.errors import MethodError
from nhs_league.methods.pack import FAMILIES, Pack, load_pack, parse_pack
from nhs_league.names import TrustType

SRC = Path(__file__).parent.parent / "src" / "nhs_league"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    text = resources.files("nhs_league.methods").joinpath("nof-2025-26.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_bundled_pack_declares_every_metric_of_the_spec(pack: Pack) -> None:
    value_ids = {m.id for m in pack.metrics if m.has_value}
    assert len(value_ids) == 25
    higher = {
        "OF0010",
        "OF0011",
        "OF0013",
        "OF0016",
        "OF0023",
        "OF0041",
        "OF0057",
        "OF0061",
        "OF0079",
        "OF0081",
        "OF0084",
        "OF0085",
        "OF0106",
    }
    lower = {
        "OF0003",
        "OF0005",
        "OF0014",
        "OF0017",
        "OF0020",
        "OF0025",
        "OF0028",
        "OF0048",
        "OF0063",
        "OF0082",
        "OF0086",
        "OF0088",
    }
    assert {m.id for m in pack.metrics if m.direction == "higher"} == higher
    assert {m.id for m in pack.metrics if m.direction == "lower"} == lower
    assert {m.score_id for m in pack.metrics if m.family == "input"} == {
        "OF1035",
        "OF1046",
        "OF1067",
        "OF1069",
    }
    assert {m.id for m in pack.metrics if m.pool == "within-type"} == {"OF0061", "OF0084"}
    assert pack.metric("OF0013").target == 78.0
    assert pack.metric("OF1013") is pack.metric("OF0013")


def test_every_rule_has_help_and_source(pack: Pack) -> None:
    for m in pack.metrics:
        assert len(m.help) > 20 and m.source, m.id
    for g in pack.groups:
        assert g.help
    assert pack.segmentation.help and pack.override_help and pack.segment5_help
    assert pack.ranking_help


def test_pack_objects_are_frozen(pack: Pack) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        pack.metrics[0].target = 1.0  # type: ignore[misc]


def _broken(raw: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(raw)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["metrics", 0, "family"],
            "banana",
            "metrics[0] (OF0003): family: 'banana' is not allowed; allowed: " + ", ".join(FAMILIES),
        ),
        (
            ["metrics", 0, "direction"],
            "up",
            "metrics[0] (OF0003): direction: 'up' is not allowed; allowed: higher, lower",
        ),
        (["metrics", 0, "colour"], "red", "metrics[0] (OF0003): colour: unknown key; allowed:"),
        (["metrics", 0, "target"], KeyError, "metrics[0] (OF0003): target: missing"),
        (
            ["metrics", 0, "trust_types"],
            ["dental"],
            "metrics[0] (OF0003): trust_types: 'dental' is not a trust type",
        ),
        (
            ["segmentation", "method"],
            "coin-toss",
            "segmentation: method: 'coin-toss' is not allowed; allowed: national-quartiles, "
            "fixed-thresholds, implied",
        ),
        (["pack", "id"], 7, "pack.toml: id: must be str, got 7"),
        (["flavour"], "x", "pack.toml: flavour: unknown key; allowed:"),
    ],
)
def test_bad_key_or_value_names_it(
    raw: dict[str, Any], path: list[Any], value: Any, message: str
) -> None:
    with pytest.raises(MethodError) as err:
        parse_pack(_broken(raw, path, value), "pack.toml")
    assert message in str(err.value)


def test_fixed_thresholds_need_three(raw: dict[str, Any]) -> None:
    doc = _broken(raw, ["segmentation", "method"], "fixed-thresholds")
    with pytest.raises(MethodError, match="thresholds"):
        parse_pack(doc, "p.toml")
    doc["segmentation"]["thresholds"] = [2.0, 2.5, 3.0]
    assert parse_pack(doc, "p.toml").segmentation.thresholds == (2.0, 2.5, 3.0)


def test_unknown_pack_lists_bundled() -> None:
    with pytest.raises(MethodError, match="allowed: nof-2025-26"):
        load_pack("nof-1999-00")


def test_no_metric_id_in_python_code() -> None:
    """Metric ids live in the pack; Python code may mention them in prose (help, docstrings)
    but never use one as a value."""
    bare = re.compile(r"^OF\d{4}$")
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and bare.match(node.value)
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.value}")
    assert offenders == []


def test_the_trust_type_names_are_the_packs(pack: Pack) -> None:
    """Options and web parameters parse trust types with one enum; it spells the pack's."""
    assert [t.value for t in TrustType] == list(pack.trust_types)
