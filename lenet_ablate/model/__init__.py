"""The network: any `model` option built with the factor groups it declares (network, contract),
LeNet-5's layer table, its layers, output heads, RBF templates and weight init."""
