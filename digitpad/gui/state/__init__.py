"""The window's shared state: the model in use, the personal samples, the preferences (QSettings) and loading the
model at start-up. Each tab listens to it; no tab asks another."""
