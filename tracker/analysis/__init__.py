"""Analysis: the streaming pipeline, set and rep segmentation, metrics and flags."""
