"""Upscaling x2 / x4 with a learned network, bicubic fallback (written in issue 6)."""
