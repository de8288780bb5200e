"""Run generated programs in a separate, limited process.

The program runs in a fresh interpreter in isolated mode (``-I``: no user
site, no environment variables, no current directory on the path), in an
empty temporary directory, with limits on CPU time, memory, file size and
open files, in its own process group that is killed when the timeout passes.
This is the containment the HumanEval authors describe for trusted-ish
model output; it is not a security boundary against hostile code (there is
no network or filesystem namespace).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

MEMORY_BYTES = 2 * 1024**3
FILE_BYTES = 16 * 1024**2


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str  # "passed" | "failed" | "timeout"
    detail: str


def _limit(timeout: float) -> None:  # runs in the child, before exec
    cpu = int(timeout) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_program(program: str, timeout: float = 10.0) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="codegen-eval-") as work:
        path = os.path.join(work, "program.py")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(program)
        proc = subprocess.Popen(
            [sys.executable, "-I", path],
            cwd=work,
            env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=lambda: _limit(timeout),
        )
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Outcome(False, "timeout", f"no result in {timeout:g} s")
        if proc.returncode == 0:
            return Outcome(True, "passed", "")
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return Outcome(False, "failed", tail[0][:300])
