"""`leadflow simulate`: a seeded marketing organisation with its own ground truth."""
