"""The window's shared state (the model in use, the samples, the preferences): no tab asks another."""
