"""Data sets: the registry of published files and sums, reading them, and the tensor data module."""
