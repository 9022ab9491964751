"""Grading one notebook or a class: sandbox, execution, verifier, cluster, coordinator, gradebook."""
