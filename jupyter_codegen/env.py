"""Environment variables shared by the server extension and the kernel clients
(a leaf module: it imports nothing of the package)."""

#: The model to host; overrides CodegenApp.model.
MODEL_ENV = "JUPYTER_CODEGEN_MODEL"
#: An OpenAI-compatible server to use instead of a local model, and its key.
REMOTE_URL_ENV = "JUPYTER_CODEGEN_REMOTE_URL"
API_KEY_ENV = "JUPYTER_CODEGEN_API_KEY"
#: Set by the server extension in the environment that kernels inherit.
URL_ENV = "JUPYTER_CODEGEN_URL"
TOKEN_ENV = "JUPYTER_CODEGEN_TOKEN"
#: JupyterHub's token, used when TOKEN_ENV is not set.
HUB_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
