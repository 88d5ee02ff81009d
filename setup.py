"""Packages are found, not listed: digitpad and every sub-package, plus the two top-level
data folders that install inside it (pyproject.toml maps them with package-dir)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["digitpad", "digitpad.*"]), "digitpad._weights", "digitpad._resources"])
