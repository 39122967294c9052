"""Training on a producer's own sounds (issue #16): datasets, the training loop and its artifacts."""
