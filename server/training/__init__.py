"""Fine-tuning as daemon jobs: datasets from a producer's files, a step loop that stops at step
boundaries, checkpoints the backends load (the `train` verb).
"""
