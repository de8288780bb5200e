"""Explanations and generated code: chat prompts and replies."""
