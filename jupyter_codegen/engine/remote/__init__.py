"""The remote engine: an OpenAI-compatible inference server over HTTP (no torch)."""
