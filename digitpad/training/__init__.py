"""Training: the run's config, the one training loop, the run-time estimate, temperature fitting, the named recipes,
fine-tuning on personal samples and the training curves."""
