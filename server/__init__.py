"""dawgen engine: jobs, journal, workers, model registry, backends, post-processing and output.

Nothing here imports bridge/ (the front doors) or torch at import time.
"""
__version__ = "0.1.0"
