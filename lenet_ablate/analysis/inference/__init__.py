"""The tests and decisions: paired t, Welch, intervals and family-wise adjustments (stats), the
verdict rules (decide), and the secondary outcomes' comparisons (secondary). Imports only scipy,
statsmodels, numpy and pandas; no torch."""
