"""Code for the user's kernel: the IPython magics and their client of the
model service."""
