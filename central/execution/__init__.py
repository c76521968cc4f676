"""Execution: running test sessions, live matching while they run, and their final results."""
