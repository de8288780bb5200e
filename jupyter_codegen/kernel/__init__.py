"""Code for the user's kernel: the lookup of its live variables (``live``,
which runs no user code), the IPython magics, what they send as context
(``magic_context``) and their client of the model service (``client``)."""
