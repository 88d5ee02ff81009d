"""The window: starting the app, the main window that holds the tabs, the My samples dialog, the File menu's
drawings and the check for missing system libraries."""
