"""What every part of the window shares: the style and palette, charts, formatting, thread workers, tiles of
feature maps and synthetic tablet events. Imports no other part of the GUI."""
