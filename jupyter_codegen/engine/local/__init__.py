"""The local engine: a transformers model in this process (the only code
that imports torch)."""
