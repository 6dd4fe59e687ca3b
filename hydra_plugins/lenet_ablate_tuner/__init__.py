"""The study's sweeper (study_sweeper): Hydra's basic sweeper plus any swept key as a factor, tune=lr
and seeds=auto (Hydra loads sweepers from hydra_plugins only)."""
