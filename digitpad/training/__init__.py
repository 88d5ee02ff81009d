"""Training: the config, the loop, its estimate and curves, calibration, the recipes and fine-tuning."""
