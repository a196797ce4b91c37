"""Pure metric functions on embeddings, labels and scores: no I/O, no model loading."""
