"""A run's records: the run folder and its rules (run_folder), checkpoints, JSON-lines logs
mirrored to TensorBoard, and the provenance of what made them."""
