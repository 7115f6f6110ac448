"""Benchmarks: each ``bench_*.py`` compares cfusage with a naive baseline in the same run."""
