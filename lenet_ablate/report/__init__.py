"""The report package: collect (sweeps, summaries, event files), stats (pure functions),
experiments (configurations and one-factor comparisons), figures, render (Markdown / HTML) and
build (one report); `python -m lenet_ablate.report` is the command (__main__)."""
