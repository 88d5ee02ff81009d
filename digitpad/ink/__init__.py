"""Ink: strokes, MNIST's preprocessing, characters, drawing files and personal samples. numpy only: no torch, no Qt."""
