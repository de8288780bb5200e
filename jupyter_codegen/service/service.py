"""The service: each request's pipeline run on the model host. Handlers (and
the kernel's in-process client) call one method here per request.

A request is admitted first (:meth:`CodegenService.ticket`: a generation
slot or a queue place, or 429/503 at once), then its cheap checks run on the
event loop, its pipeline's preparation (parsing, selecting, tokenizing) runs
in the service's own threads, the engine generates in the host's, and the
reply is built off the loop again. The event loop never waits on any of it.
"""

from __future__ import annotations

from jupyter_codegen.service.chats import Chats
from jupyter_codegen.service.completions import Completions


class CodegenService(Completions, Chats):
    """One method per request: :meth:`complete` / :meth:`stream_complete`,
    :meth:`explain`, :meth:`generate`, :meth:`fix`, :meth:`edit` (each with
    its ``stream_`` form), and :meth:`prepare` for a completion's prompt."""
