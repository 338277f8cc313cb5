"""File commands: convert between native recordings and samples CSV, show a file's contents."""
