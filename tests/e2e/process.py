"""Helpers the end-to-end tests share for the server processes they start."""

import os
import signal

# Sanitizer builds run several times slower (TSan most), and CI shares two cores among the test,
# its clients and the server: scripts/test.sh sets VIAL_TEST_SLACK for them.
SLACK = float(os.environ.get("VIAL_TEST_SLACK", "1"))


def bound(seconds, serial=None):
    """A wall-clock upper bound for a test: `seconds`, stretched by SLACK. A bound that proves
    work ran concurrently stays below `serial`, the time the work takes one after another."""
    stretched = seconds * SLACK
    return stretched if serial is None else min(stretched, 0.9 * serial)


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
