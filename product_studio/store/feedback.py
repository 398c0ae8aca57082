"""What the feedback is for: a report, and feedback-tuned defaults.

Report (``acceptance_report``): acceptance rate per op, per preset and per model version, each with
its Wilson 95% interval; ``product-studio feedback report`` and ``GET /v1/feedback/report`` print it.

Use (``tune_recipe``): the shadow a preset's default recipe puts under the product is picked by
the people rating the results. Every result records its *variant*: the values of the tunable
options its recipe used (now ``white_background.shadow``: none | contact | drop). For each preset,
the feedback on results of that preset is grouped by variant value. The server's default recipe
for the preset (what ``POST /v1/process`` and ``/v1/jobs`` run when no recipe is sent) switches
from the preset's own value ``d`` to another value ``v`` only when

- both ``d`` and ``v`` have at least ``min_votes`` votes (20 by default), and
- the Wilson 95% lower bound of ``v``'s acceptance rate is above ``d``'s observed acceptance rate;

among several such values the one with the highest lower bound wins. The comparison is always
against the preset's own value, so a switch is undone as soon as the evidence stops holding.
Votes for values other than the served one come from clients that send their own recipe (the web
page can offer the shadow as a choice); results rated under an explicit recipe count like any other.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from ..recipe import Recipe
from .db import Database
from .repository import iter_feedback

# (op, option) pairs whose value the feedback may choose for a preset's default recipe.
TUNABLE_OPTIONS: tuple[tuple[str, str], ...] = (("white_background", "shadow"),)
Z_95 = 1.959963984540054


def wilson_interval(accepted: int, votes: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion (accepted / votes); (0, 1) with no votes.

    >>> tuple(round(x, 3) for x in wilson_interval(18, 20))
    (0.699, 0.972)
    """
    if votes <= 0:
        return 0.0, 1.0
    p = accepted / votes
    denom = 1 + z * z / votes
    centre = (p + z * z / (2 * votes)) / denom
    half = z * math.sqrt(p * (1 - p) / votes + z * z / (4 * votes * votes)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Rate:
    key: str
    votes: int
    accepted: int

    @property
    def rate(self) -> float:
        return self.accepted / self.votes if self.votes else 0.0

    def to_dict(self) -> dict[str, Any]:
        low, high = wilson_interval(self.accepted, self.votes)
        return {"key": self.key, "votes": self.votes, "accepted": self.accepted, "rejected": self.votes - self.accepted,
                "rate": round(self.rate, 4), "wilson_low": round(low, 4), "wilson_high": round(high, 4)}


def variant_of(recipe: Recipe) -> dict[str, Any]:
    """The tunable option values a recipe uses, e.g. ``{"white_background.shadow": "contact"}``."""
    out: dict[str, Any] = {}
    for step in recipe.steps:
        resolved = step.resolved()
        for op, option in TUNABLE_OPTIONS:
            if step.op == op and option in resolved:
                out[f"{op}.{option}"] = resolved[option]
    return out


def acceptance_report(db: Database) -> dict[str, Any]:
    """Acceptance per op, preset and model version (a result counts once for each op/model it used)."""
    groups: dict[str, dict[str, list[int]]] = {"op": defaultdict(lambda: [0, 0]), "preset": defaultdict(lambda: [0, 0]),
                                               "model": defaultdict(lambda: [0, 0]), "variant": defaultdict(lambda: [0, 0])}
    total = accepted = 0
    for row in iter_feedback(db):
        ok = int(row.verdict == "accept")
        total += 1
        accepted += ok
        keys = {
            "op": set(row.ops or []),
            "preset": {row.preset or "(none)"},
            "model": set(row.models or []) or {"(no model)"},
            "variant": {f"{row.preset or '(none)'} {k}={v}" for k, v in (row.variant or {}).items()},
        }
        for dimension, values in keys.items():
            for value in values:
                groups[dimension][value][0] += 1
                groups[dimension][value][1] += ok
    summary = Rate("all", total, accepted).to_dict()
    return {
        "total": summary,
        "by_op": [Rate(k, n, a).to_dict() for k, (n, a) in sorted(groups["op"].items())],
        "by_preset": [Rate(k, n, a).to_dict() for k, (n, a) in sorted(groups["preset"].items())],
        "by_model": [Rate(k, n, a).to_dict() for k, (n, a) in sorted(groups["model"].items())],
        "by_variant": [Rate(k, n, a).to_dict() for k, (n, a) in sorted(groups["variant"].items())],
    }


@dataclass
class Tuning:
    """The decision for one (preset, option): which value the default recipe uses and why."""

    preset: str
    option: str
    preset_value: Any
    chosen: Any
    reason: str
    evidence: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(preset: str, default_recipe: Recipe, db: Database, *, min_votes: int = 20) -> list[Tuning]:
    """One Tuning per tunable option the preset's default recipe has (see the module docstring)."""
    defaults = variant_of(default_recipe)
    if not defaults:
        return []
    counts: dict[str, dict[Any, list[int]]] = {key: defaultdict(lambda: [0, 0]) for key in defaults}
    for row in iter_feedback(db, preset=preset):
        for key, value in (row.variant or {}).items():
            if key in counts:
                counts[key][_hashable(value)][0] += 1
                counts[key][_hashable(value)][1] += int(row.verdict == "accept")
    decisions = []
    for key, default in defaults.items():
        stats = counts[key]
        evidence = [Rate(str(v), n, a).to_dict() | {"value": v} for v, (n, a) in sorted(stats.items(), key=lambda kv: str(kv[0]))]
        d_votes, d_accepted = stats.get(_hashable(default), [0, 0])
        chosen, reason = default, "the preset's own value"
        if d_votes < min_votes:
            reason += f" (it has {d_votes} of the {min_votes} votes needed before an alternative is considered)"
        else:
            d_rate = d_accepted / d_votes
            best = None
            for value, (n, a) in stats.items():
                if value == _hashable(default) or n < min_votes:
                    continue
                low = wilson_interval(a, n)[0]
                if low > d_rate and (best is None or low > best[1]):
                    best = (value, low, a / n, n)
            if best is not None:
                chosen = best[0]
                reason = (f"feedback: {best[3]} votes accept {best[2]:.0%} (Wilson 95% lower bound {best[1]:.0%}) vs "
                          f"{default!r} at {d_rate:.0%} over {d_votes} votes")
            else:
                reason += f" (no alternative with {min_votes}+ votes has a Wilson lower bound above its {d_rate:.0%})"
        decisions.append(Tuning(preset, key, default, chosen, reason, evidence))
    return decisions


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def tune_recipe(recipe: Recipe, decisions: list[Tuning]) -> Recipe:
    """``recipe`` with the chosen option values set (unchanged when every decision keeps the preset's value)."""
    changes = {d.option: d.chosen for d in decisions if d.chosen != d.preset_value}
    if not changes:
        return recipe
    data = recipe.model_dump(mode="json")
    for step in data["steps"]:
        for key, value in changes.items():
            op, option = key.split(".", 1)
            if step["op"] == op:
                step[option] = list(value) if isinstance(value, tuple) else value
    return Recipe.from_dict(data, source="feedback-tuned recipe")
