"""The network: LeNet-5's layer table, its layers, output heads, RBF templates and weight init."""
