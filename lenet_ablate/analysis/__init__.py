"""The analysis every layer above shares, in three packages: tables (the data of a study: jobs,
configurations, experiments, outcomes), inference (the tests and verdict rules) and schedule (the
seeds=auto design, its simulation and the seed-noise check). Imports go tables -> inference and
schedule -> tables, inference; all may import lenet_ablate.runs and lenet_ablate.design. Below study/
(the sweeper plans with it) and report/ (which renders it); imports neither. No torch here."""
