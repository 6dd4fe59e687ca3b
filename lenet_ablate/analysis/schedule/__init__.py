"""The seeds=auto design and its checks: the looks and their levels (sequential), the spending
functions (spending), the Monte Carlo study of the design's error rates (montecarlo, noise_models,
simulate) and the study's own seed-noise shape (seed_noise). May import analysis.inference and
analysis.tables and lenet_ablate.design; no torch."""
