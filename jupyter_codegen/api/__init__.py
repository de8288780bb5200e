"""The HTTP API's contract: typed request and reply models."""
