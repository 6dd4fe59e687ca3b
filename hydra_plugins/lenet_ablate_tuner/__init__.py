"""tune=lr: the learning-rate tuning sweeper of lenet_ablate (Hydra loads sweepers from hydra_plugins only)."""
