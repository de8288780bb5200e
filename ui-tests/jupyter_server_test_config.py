"""Jupyter server configuration for the ui-tests (Galata): no token, no XSRF,
a temporary root directory. Never use it outside tests.

start-server.sh picks the model (JUPYTER_CODEGEN_MODEL) and the port."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.port_retries = 0  # noqa: F821
