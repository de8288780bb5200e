"""The Jupyter server extension: configuration, routes and thin handlers."""
