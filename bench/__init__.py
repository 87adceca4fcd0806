"""Benchmarks for vfs_ext: every figure side by side with what a user would otherwise use.

Run ``make bench`` (``python -m bench``); ``--quick`` runs tiny sizes for the smoke test.
"""
