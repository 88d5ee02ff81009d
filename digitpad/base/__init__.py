"""The bottom layer: MNIST's constants, the app's folders and atomic writes. Imports nothing else of digitpad."""
