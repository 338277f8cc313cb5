"""Rep tracker and lumbar flexion / over-extension cues from IMUs worn on the lower back.

Units and frames used throughout the package: docs/frames.md.
"""

__version__ = "0.1.0"
