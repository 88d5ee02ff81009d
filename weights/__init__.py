"""Weights that ship with digitpad (a package so that `pip install .` carries them)."""
