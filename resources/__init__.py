"""Icons and desktop files that ship with digitpad."""
