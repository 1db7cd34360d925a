"""Files in and out: atomic replacement, the offline cache of wheels, image files."""
