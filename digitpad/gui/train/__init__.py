"""The Train tab: data, settings, runs in a worker thread and their curves, the model panel, fine-tuning."""
