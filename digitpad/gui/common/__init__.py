"""What every part of the window shares: style, charts, formatting, workers. Imports no other part of the GUI."""
