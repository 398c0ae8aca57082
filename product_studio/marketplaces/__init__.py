"""Marketplace presets (data files) and the compliance checks and fixes that use them.

    >>> from product_studio.marketplaces import check_file, load_preset
    >>> report = check_file("ready/mug.jpg", "amazon-main")
    >>> report.passed, report.failed
"""

from .checks import ComplianceReport, check_file, check_image, fix_image
from .presets import Preset, list_presets, load_preset, preset_recipe
from .rules import RuleResult

__all__ = [
    "ComplianceReport",
    "Preset",
    "RuleResult",
    "check_file",
    "check_image",
    "fix_image",
    "list_presets",
    "load_preset",
    "preset_recipe",
]
