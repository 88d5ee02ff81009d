"""Ink: strokes, MNIST's preprocessing, splitting a drawing into characters and rendering them, drawing files and
personal samples. numpy only: no torch, no Qt."""
