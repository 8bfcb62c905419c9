"""aebench: autoencoder benchmark harness."""
