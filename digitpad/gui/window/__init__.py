"""The window: starting the app, the main window that holds the tabs, its dialog and its File menu."""
