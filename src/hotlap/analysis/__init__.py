"""Analysis: pure functions from stored configs and runs to per-config reports, decisions and
the recommendation (`configs`), the levels they are judged at (`judging`), live summaries
(`results`), the Pareto front, reliability warnings and best-so-far curves."""
