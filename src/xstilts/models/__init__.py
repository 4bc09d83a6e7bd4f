"""Encoders (hub, local, built-in) and the multi-task model with its checkpoints."""
