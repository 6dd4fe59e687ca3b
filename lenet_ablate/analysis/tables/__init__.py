"""The data of a study: its jobs collected from their summaries (collect), configurations and
experiments (experiments), the outcomes as data (outcomes), level rows and judgements (level_rows),
tune=lr records (tuned), failed seeds (failures) and per-class accuracy (classes). May import
lenet_ablate.runs, lenet_ablate.design and analysis.inference; no torch."""
