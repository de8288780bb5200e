"""The package imports where POSIX-only modules are missing (Windows), and
loading either side of it pulls in nothing of the other: the server app none
of the kernel's client and magics, the kernel's side none of the server.
(The import rules as a whole are in test_architecture.py.)"""

from __future__ import annotations

from conftest import run_python


def test_modules_import_without_fcntl_and_resource() -> None:
    proc = run_python(
        """
        import sys
        sys.modules["fcntl"] = None  # as on Windows: import fcntl raises ImportError
        sys.modules["resource"] = None
        import tempfile
        from pathlib import Path
        from jupyter_codegen.engine.local import embedded
        from jupyter_codegen.service import status
        from jupyter_codegen.engine.local.embedded import EmbeddedModel, conversion_lock
        assert embedded.fcntl is None
        model = EmbeddedModel("m", "t", "x", "p{}", "1", 1, 1, "0")
        with tempfile.TemporaryDirectory() as tmp, conversion_lock(model, Path(tmp)):
            pass
        mem = status.memory()
        assert mem["peak_rss_bytes"] > 0 and mem["rss_bytes"] > 0, mem
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_the_server_and_the_kernel_sides_load_without_each_other() -> None:
    proc = run_python(
        """
        import sys
        import jupyter_codegen.server.app
        kernel = [m for m in sys.modules if m.startswith("jupyter_codegen.kernel.")]
        assert not kernel, kernel
        for name in [m for m in sys.modules if m.startswith("jupyter_codegen")]:
            del sys.modules[name]
        import jupyter_codegen.kernel.magics
        import jupyter_codegen.kernel.client
        server = [m for m in sys.modules if m.startswith("jupyter_codegen.server")]
        assert not server, server
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
