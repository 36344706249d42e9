"""Project-wide checks: the docs site builds, the layer contracts hold."""
