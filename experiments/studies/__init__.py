"""One-off studies of single components (labelled as such in their results)."""
