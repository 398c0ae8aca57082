"""Background removal and compositing (filled in below)."""
