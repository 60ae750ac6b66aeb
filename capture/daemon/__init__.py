"""The capture daemon (``vntrack capture``): records the SSI stream verbatim into the lake, survives faults.

Modules: ``settings`` (CaptureSettings), ``client`` (token, negotiate, connect), ``stream`` (reader, liveness,
reconnect), ``recorder`` (raw records, bounded queue), ``writer`` (journal, segments, events), ``health``
(status file, Prometheus), ``daemon`` (lifecycle, recovery, date roll), ``logs``. See docs/capture.md.
"""

from capture.daemon.daemon import CaptureError, Credentials, ExitCode, run_capture
from capture.daemon.settings import DEFAULT_CHANNELS, CaptureSettings

__all__ = ["DEFAULT_CHANNELS", "CaptureError", "CaptureSettings", "Credentials", "ExitCode", "run_capture"]
