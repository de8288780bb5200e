"""Serving requests: the model host (loading, admission, timing, cancellation)
and the service that runs each request's pipeline on it."""
