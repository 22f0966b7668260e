"""The benchmark suite of issue #9: one module per figure, ``make bench`` (``python -m bench.run``)
runs them all and records the results under ``var/bench/``; see docs/BENCHMARKS.md."""
