"""The tests and decisions: paired t, Welch, intervals and family-wise adjustments (stats), the
verdict rules (decide), and the secondary outcomes' comparisons (secondary). Imports scipy,
statsmodels, numpy and pandas, and nothing of analysis.tables or analysis.schedule (tables and
schedule import it; tests/test_layers.py checks); no torch."""
