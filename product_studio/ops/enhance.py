"""Enhancement (filled in below)."""
