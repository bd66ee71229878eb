"""Benchmarks of Tether against bare trio-websocket and the `websockets` library.

Run `python -m bench --help`; see docs/benchmarks.md for what the figures mean.
"""
