"""Helpers the end-to-end tests share for the server processes they start."""

import signal


def terminate(proc, timeout):
    """SIGTERM, as a supervisor would, then the exit code once `proc` stopped (non-zero, e.g.,
    when a sanitizer reported). A process still running after `timeout` seconds is killed and
    reaped, and subprocess.TimeoutExpired propagates."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
