"""Model loading and clients: CLIP-family encoders, LLM/VLM judges."""
