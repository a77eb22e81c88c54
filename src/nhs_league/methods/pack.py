"""Method packs: the scoring method as validated, frozen, typed data.

A pack is a TOML file (``nof-2025-26.toml``). Loading checks every key and value and fails with a
:class:`~nhs_league.errors.MethodError` that names the key and the allowed values.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from nhs_league.errors import MethodError

FAMILIES = ("continuous", "target", "standard", "bands", "matrix", "input")
POOLS = ("national", "within-type", "none")
DIRECTIONS = ("higher", "lower")
SEGMENTATION_METHODS = ("national-quartiles", "fixed-thresholds", "implied")
DEFAULT_PACK = "nof-2025-26"

_METRIC_KEYS = {
    "id",
    "score_id",
    "name",
    "short",
    "units",
    "domain",
    "direction",
    "family",
    "target",
    "count_units",
    "bands",
    "inner_edge",
    "item",
    "inputs",
    "matrix",
    "pool",
    "trust_types",
    "help",
    "source",
}
_TOP_KEYS = {
    "pack",
    "trust_types",
    "region_aliases",
    "unit_aliases",
    "domains",
    "summary",
    "metrics",
    "items",
    "precision",
    "segmentation",
    "override",
    "segment5",
    "ranking",
}


@dataclass(frozen=True)
class Metric:
    """One scored metric. ``id`` is the value's Metric_ID (OF0xxx), ``score_id`` its score's."""

    id: str
    score_id: str
    name: str
    short: str
    units: str
    domain: str
    family: str
    pool: str
    trust_types: tuple[str, ...]
    help: str
    source: str
    direction: str | None = None
    target: float | None = None
    count_units: str | None = None
    bands: tuple[float, ...] = ()
    inner_edge: str = "worse"
    item: bool = True
    inputs: tuple[str, ...] = ()
    matrix: tuple[tuple[int, ...], ...] = ()

    @property
    def has_value(self) -> bool:
        """Whether the metric is scored from a value row (not a published or combined score)."""
        return self.family not in ("matrix", "input")

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"


@dataclass(frozen=True)
class Domain:
    key: str
    name: str
    score_id: str
    segment_id: str


@dataclass(frozen=True)
class ItemGroup:
    id: str
    name: str
    members: tuple[str, ...]
    domain: str
    help: str


@dataclass(frozen=True)
class PrecisionRule:
    quarters: tuple[str, ...]
    score_ids: tuple[str, ...]
    digits: int
    help: str


@dataclass(frozen=True)
class Segmentation:
    method: str
    reproduce_method: str
    percentile_method: str
    average_digits: int
    on_cut_point: str
    thresholds: tuple[float, ...]
    help: str


@dataclass(frozen=True)
class Pack:
    id: str
    name: str
    version: str
    source: str
    score_min: float
    score_max: float
    published_digits: int
    trust_types: dict[str, tuple[str, ...]]
    trust_type_labels: dict[str, str]
    region_aliases: dict[str, str]
    unit_aliases: dict[str, str]
    domains: tuple[Domain, ...]
    summary: dict[str, str]
    metrics: tuple[Metric, ...]
    groups: tuple[ItemGroup, ...]
    precision: tuple[PrecisionRule, ...]
    segmentation: Segmentation
    override_best_segment: int
    override_help: str
    segment5: int
    segment5_help: str
    ranking_digits: int
    ranking_help: str
    _by_any_id: dict[str, Metric] = field(default_factory=dict, repr=False, compare=False)

    def metric(self, metric_id: str) -> Metric:
        """Look a metric up by its value id (OF0013) or score id (OF1013)."""
        try:
            return self._by_any_id[metric_id]
        except KeyError:
            raise MethodError(
                self.id,
                metric_id,
                "not a metric of this pack",
                ", ".join(sorted(m.score_id for m in self.metrics)),
            ) from None

    def has_metric(self, metric_id: str) -> bool:
        return metric_id in self._by_any_id

    def domain(self, key: str) -> Domain:
        for d in self.domains:
            if d.key == key:
                return d
        raise MethodError(self.id, key, "not a domain", ", ".join(d.key for d in self.domains))

    def trust_type_for(self, spelling: str) -> str | None:
        """The canonical trust type for a spelling seen in a file or typed by a user."""
        s = spelling.strip().lower()
        for key, aliases in self.trust_types.items():
            if s == key or s in (a.lower() for a in aliases):
                return key
        return None

    def rounding_for(self, quarter: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for rule in self.precision:
            if quarter in rule.quarters:
                out.update(dict.fromkeys(rule.score_ids, rule.digits))
        return out

    @property
    def summary_ids(self) -> frozenset[str]:
        return frozenset(self.summary.values())


def _need(table: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in table:
        raise MethodError(where, key, "missing")
    value = table[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MethodError(where, key, f"must be {names}, got {value!r}")
    return value


def _choice(table: dict[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str:
    value = _need(table, key, where, str)
    if value not in allowed:
        raise MethodError(where, key, f"{value!r} is not allowed", ", ".join(allowed))
    return str(value)


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise MethodError(where, key, "unknown key", ", ".join(sorted(allowed)))


def _metric(raw: dict[str, Any], where: str, types: set[str], domains: set[str]) -> Metric:
    _check_keys(raw, _METRIC_KEYS, where)
    family = _choice(raw, "family", where, FAMILIES)
    domain = _choice(raw, "domain", where, tuple(sorted(domains)))
    trust_types = tuple(_need(raw, "trust_types", where, list))
    for t in trust_types:
        if t not in types:
            raise MethodError(where, "trust_types", f"{t!r} is not a trust type", ", ".join(types))
    direction = None
    if family in ("continuous", "target", "standard", "bands"):
        direction = _choice(raw, "direction", where, DIRECTIONS)
    target = None
    if family in ("target", "standard"):
        target = float(_need(raw, "target", where, (int, float)))
    bands: tuple[float, ...] = ()
    if family == "bands":
        bands = tuple(float(b) for b in _need(raw, "bands", where, list))
        if len(bands) != 3 or list(bands) != sorted(bands, reverse=direction == "higher"):
            raise MethodError(where, "bands", "must be three edges ordered from best to worst")
    matrix: tuple[tuple[int, ...], ...] = ()
    inputs: tuple[str, ...] = ()
    if family == "matrix":
        matrix = tuple(tuple(int(v) for v in row) for row in _need(raw, "matrix", where, list))
        inputs = tuple(_need(raw, "inputs", where, list))
        if len(inputs) != 2 or len(matrix) != 4 or any(len(r) != 4 for r in matrix):
            raise MethodError(where, "matrix", "must be 4 x 4 over exactly two input scores")
    pool = _choice(raw, "pool", where, POOLS)
    if family in ("continuous", "target", "standard") and pool == "none":
        raise MethodError(where, "pool", "a ranked family needs a pool", "national, within-type")
    return Metric(
        id=_need(raw, "id", where, str),
        score_id=_need(raw, "score_id", where, str),
        name=_need(raw, "name", where, str),
        short=_need(raw, "short", where, str),
        units=_need(raw, "units", where, str),
        domain=domain,
        family=family,
        pool=pool,
        trust_types=trust_types,
        help=_need(raw, "help", where, str),
        source=_need(raw, "source", where, str),
        direction=direction,
        target=target,
        count_units=raw.get("count_units"),
        bands=bands,
        inner_edge=_choice(raw, "inner_edge", where, ("worse", "better"))
        if "inner_edge" in raw
        else "worse",
        item=bool(raw.get("item", True)),
        inputs=inputs,
        matrix=matrix,
    )


def parse_pack(data: dict[str, Any], source: str) -> Pack:
    """Validate a parsed TOML document and build a :class:`Pack`."""
    _check_keys(data, _TOP_KEYS, source)
    head = _need(data, "pack", source, dict)
    types_raw = _need(data, "trust_types", source, dict)
    trust_types = {k: tuple(v.get("aliases", [])) for k, v in types_raw.items()}
    labels = {k: str(v.get("label", k)) for k, v in types_raw.items()}
    domains = tuple(
        Domain(
            key=k,
            name=_need(v, "name", f"{source}: domains.{k}", str),
            score_id=_need(v, "score_id", f"{source}: domains.{k}", str),
            segment_id=_need(v, "segment_id", f"{source}: domains.{k}", str),
        )
        for k, v in _need(data, "domains", source, dict).items()
    )
    domain_keys = {d.key for d in domains}
    metrics = tuple(
        _metric(
            raw, f"{source}: metrics[{i}] ({raw.get('id', '?')})", set(trust_types), domain_keys
        )
        for i, raw in enumerate(_need(data, "metrics", source, list))
    )
    by_id: dict[str, Metric] = {}
    for m in metrics:
        for key in {m.id, m.score_id}:
            if key in by_id:
                raise MethodError(source, f"metrics ({key})", "declared twice")
            by_id[key] = m
    groups = tuple(
        ItemGroup(
            id=_need(g, "id", f"{source}: items.groups", str),
            name=_need(g, "name", f"{source}: items.groups", str),
            members=tuple(_need(g, "members", f"{source}: items.groups", list)),
            domain=_choice(g, "domain", f"{source}: items.groups", tuple(sorted(domain_keys))),
            help=str(g.get("help", "")),
        )
        for g in data.get("items", {}).get("groups", [])
    )
    for g in groups:
        for member in g.members:
            if member not in by_id:
                raise MethodError(source, f"items.groups.{g.id}.members", f"{member!r} unknown")
    precision = tuple(
        PrecisionRule(
            quarters=tuple(p["quarters"]),
            score_ids=tuple(p["score_ids"]),
            digits=int(p["digits"]),
            help=str(p.get("help", "")),
        )
        for p in data.get("precision", [])
    )
    seg = _need(data, "segmentation", source, dict)
    where = f"{source}: segmentation"
    segmentation = Segmentation(
        method=_choice(seg, "method", where, SEGMENTATION_METHODS),
        reproduce_method=_choice(seg, "reproduce_method", where, SEGMENTATION_METHODS),
        percentile_method=_choice(
            seg, "percentile_method", where, ("linear", "lower", "higher", "midpoint", "nearest")
        ),
        average_digits=int(_need(seg, "average_digits", where, int)),
        on_cut_point=_choice(seg, "on_cut_point", where, ("better", "worse")),
        thresholds=tuple(float(t) for t in seg.get("thresholds", [])),
        help=str(seg.get("help", "")),
    )
    if segmentation.method == "fixed-thresholds" and len(segmentation.thresholds) != 3:
        raise MethodError(where, "thresholds", "fixed-thresholds needs three ascending cut-points")
    override = _need(data, "override", source, dict)
    seg5 = _need(data, "segment5", source, dict)
    ranking = _need(data, "ranking", source, dict)
    return Pack(
        id=_need(head, "id", source, str),
        name=_need(head, "name", source, str),
        version=_need(head, "version", source, str),
        source=_need(head, "source", source, str),
        score_min=float(_need(head, "score_min", source, (int, float))),
        score_max=float(_need(head, "score_max", source, (int, float))),
        published_digits=int(_need(head, "published_digits", source, int)),
        trust_types=trust_types,
        trust_type_labels=labels,
        region_aliases=dict(data.get("region_aliases", {})),
        unit_aliases=dict(data.get("unit_aliases", {})),
        domains=domains,
        summary=dict(_need(data, "summary", source, dict)),
        metrics=metrics,
        groups=groups,
        precision=precision,
        segmentation=segmentation,
        override_best_segment=int(_need(override, "best_segment", f"{source}: override", int)),
        override_help=str(override.get("help", "")),
        segment5=int(_need(seg5, "segment", f"{source}: segment5", int)),
        segment5_help=str(seg5.get("help", "")),
        ranking_digits=int(_need(ranking, "average_digits", f"{source}: ranking", int)),
        ranking_help=str(ranking.get("help", "")),
        _by_any_id=by_id,
    )


def with_metrics(pack: Pack, metrics: tuple[Metric, ...]) -> Pack:
    """A copy of ``pack`` with other metric rules (a method variant)."""
    by_id = {key: m for m in metrics for key in (m.id, m.score_id)}
    return replace(pack, metrics=metrics, _by_any_id=by_id)


def load_pack_file(path: str | Path) -> Pack:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MethodError(str(path), "(file)", f"not valid TOML: {exc}") from None
    return parse_pack(data, path.name)


@cache
def load_pack(name: str = DEFAULT_PACK) -> Pack:
    """Load a bundled pack by name (``nof-2025-26``) or a pack file by path."""
    if name.endswith(".toml"):
        return load_pack_file(name)
    ref = resources.files("nhs_league.methods").joinpath(f"{name}.toml")
    if not ref.is_file():
        bundled = sorted(
            p.name.removesuffix(".toml")
            for p in resources.files("nhs_league.methods").iterdir()
            if p.name.endswith(".toml")
        )
        raise MethodError(name, "pack", "no such method pack", ", ".join(bundled))
    return parse_pack(tomllib.loads(ref.read_text(encoding="utf-8")), f"{name}.toml")
