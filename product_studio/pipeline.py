"""The one path for image work: ``process(source, recipe, limits) -> Outcome``.

Placeholder while the execution path moves here; the recipe schema lives in ``recipe.py``.
"""

from __future__ import annotations

from .recipe import OutputSpec, Recipe, Step, run_recipe

__all__ = ["OutputSpec", "Recipe", "Step", "run_recipe"]
