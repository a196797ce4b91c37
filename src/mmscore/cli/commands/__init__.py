"""One module per command (or command group member); each exposes ``register(app)``."""
