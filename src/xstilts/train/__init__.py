"""Training: the step loop, optimisation, task samplers."""
