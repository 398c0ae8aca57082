"""One router per area: meta (health, presets, ops), images, results, jobs, feedback, web."""
