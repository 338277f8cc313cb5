"""Signal stages: resampling, orientation, mounting calibration, clock alignment, angles."""
