"""`tracker simulate`: write a simulated session with its ground truth."""
