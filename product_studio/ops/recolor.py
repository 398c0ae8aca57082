"""Colour variants: recolour the product inside its mask (written in issue 5)."""
