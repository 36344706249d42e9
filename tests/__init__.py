"""The test suite: a folder per area, shared helpers in ``tests.helpers``."""
