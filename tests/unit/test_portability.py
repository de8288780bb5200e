"""The package imports where POSIX-only modules are missing (Windows), and
the import graph has no circle between the server app and the kernel client."""

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


def test_the_app_does_not_import_the_kernel_client() -> None:
    proc = run_python(
        """
        import sys
        import jupyter_codegen.server.app
        assert "jupyter_codegen.kernel.client" not in sys.modules, "app imports client"
        import jupyter_codegen.env
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
