"""Health outputs of the capture daemon: the status file and the Prometheus metrics.

Status file (default ``<lake>/capture/status.json``), rewritten atomically (temp file + rename) about once a
second by the writer thread, so a stuck disk shows as a stale file::

    {"pid", "state": starting|connected|streaming|reconnecting|stopped|failed, "session", "trading_date",
     "frames_total", "frames_per_s", "frames_by_channel", "frames_lost", "malformed_frames", "queue_depth",
     "last_frame_ns", "reconnects", "gaps", "server_errors", "bytes_written", "segments_sealed",
     "metrics_url", "updated_ns", "started_ns"}

``vntrack capture --status`` reads it (:func:`read_status`, :func:`health_problems`).

Metrics (prometheus-client, own registry; names ``vntrack_capture_*``): ``frames_total{channel}`` (counter;
``rate()`` gives frames/s), ``frames_per_second{channel}`` (gauge, last second), ``queue_depth``,
``last_frame_age_seconds``, ``reconnects_total``, ``bytes_written_total``, ``frames_lost_total``,
``gaps_total``, ``server_errors_total``, ``segments_sealed_total``, ``connected``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from capture.daemon.recorder import Stats
from storage.lake import pid_alive

STALE_AFTER_S = 10.0


def status_path(lake: Path, configured: str | None) -> Path:
    """The status file: ``configured`` or ``<lake>/capture/status.json``."""
    return Path(configured) if configured else Path(lake) / "capture" / "status.json"


def write_status(path: Path, status: dict) -> None:
    """Replace the status file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(status, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def read_status(path: Path) -> dict:
    """The daemon's last status.

    Raises
    ------
    FileNotFoundError : no daemon ever ran with this status file.
    ValueError : the file is not a status JSON object.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "state" not in data:
        raise ValueError(f"{path} is not a capture status file")
    return data


def health_problems(status: dict, now_ns: int | None = None, max_frame_age_s: float | None = None) -> list[str]:
    """What is wrong according to a status (empty = healthy).

    Unhealthy: the process is gone, the file is stale (> 10 s), the state is not ``streaming``, or (when
    ``max_frame_age_s`` is given) the last frame is older than that.
    """
    now_ns = now_ns or time.time_ns()
    problems = []
    if status.get("state") in ("stopped", "failed"):
        problems.append(f"the daemon is {status['state']}")
    elif not pid_alive(int(status.get("pid", 0) or 0)):
        problems.append(f"process {status.get('pid')} is not running (killed?)")
    else:
        age = (now_ns - int(status.get("updated_ns", 0))) / 1e9
        if age > STALE_AFTER_S:
            problems.append(f"status not updated for {age:.0f} s (writer stuck?)")
        if status.get("state") != "streaming":
            problems.append(f"state is {status.get('state')}")
    if max_frame_age_s is not None and status.get("last_frame_ns"):
        frame_age = (now_ns - int(status["last_frame_ns"])) / 1e9
        if frame_age > max_frame_age_s:
            problems.append(f"last frame {frame_age:.0f} s ago")
    return problems


class Health:
    """Keeps the status file and the metrics in step with :class:`Stats` (``tick`` about once a second)."""

    def __init__(self, stats: Stats, status_file: Path) -> None:
        self.stats = stats
        self.status_file = status_file
        self.metrics_url: str | None = None
        self._server = None
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames = Counter("vntrack_capture_frames", "Broadcast arguments recorded", ["channel"], registry=r)
        self.rate = Gauge("vntrack_capture_frames_per_second", "frames recorded in the last second", ["channel"],
                          registry=r)
        self.lost = Counter("vntrack_capture_frames_lost", "frames received but not kept (queue full)", registry=r)
        self.reconnects = Counter("vntrack_capture_reconnects", "reconnections after a loss", registry=r)
        self.bytes = Counter("vntrack_capture_bytes_written", "bytes written (journal, segments)", registry=r)
        self.gaps = Counter("vntrack_capture_gaps", "gap events", registry=r)
        self.errors = Counter("vntrack_capture_server_errors", "hub Error messages", registry=r)
        self.segments = Counter("vntrack_capture_segments_sealed", "Parquet segments sealed", registry=r)
        Gauge("vntrack_capture_queue_depth", "frames between the reader and the journal",
              registry=r).set_function(lambda: stats.queue_depth)
        Gauge("vntrack_capture_last_frame_age_seconds", "seconds since the last frame",
              registry=r).set_function(lambda: (time.time_ns() - stats.last_frame_ns) / 1e9
                                       if stats.last_frame_ns else float("nan"))
        Gauge("vntrack_capture_connected", "1 while subscribed",
              registry=r).set_function(lambda: 1.0 if stats.state == "streaming" else 0.0)
        self._seen: dict[str, float] = {}
        self._last_tick = time.monotonic()
        self._last_by_channel: dict[str, int] = {}

    def serve(self, host: str, port: int) -> str:
        """Start the metrics endpoint; returns its URL (the real port when 0 was asked)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        self.metrics_url = f"http://{host}:{server.server_port}/metrics"
        return self.metrics_url

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _sync(self, counter: Counter, name: str, value: float) -> None:
        delta = value - self._seen.get(name, 0)
        if delta > 0:
            counter.inc(delta)
        self._seen[name] = value

    def tick(self) -> None:
        """Metrics from the counters, then the status file."""
        s = self.stats
        now = time.monotonic()
        elapsed = max(now - self._last_tick, 1e-6)
        self._last_tick = now
        by_channel = dict(s.frames_by_channel)
        per_s = {}
        for channel, n in by_channel.items():
            delta = n - self._last_by_channel.get(channel, 0)
            if delta > 0:
                self.frames.labels(channel).inc(delta)
            per_s[channel] = delta / elapsed
            self.rate.labels(channel).set(per_s[channel])
        self._last_by_channel = by_channel
        for counter, name, value in ((self.lost, "lost", s.lost), (self.reconnects, "reconnects", s.reconnects),
                                     (self.bytes, "bytes", s.bytes_written), (self.gaps, "gaps", s.gaps),
                                     (self.errors, "errors", s.server_errors),
                                     (self.segments, "segments", s.segments_sealed)):
            self._sync(counter, name, value)
        write_status(self.status_file, self.status(frames_per_s=sum(per_s.values())))

    def status(self, frames_per_s: float = 0.0) -> dict:
        s = self.stats
        return {"pid": os.getpid(), "state": s.state, "session": s.session, "trading_date": s.trading_date,
                "frames_total": s.accepted, "frames_written": s.written, "frames_per_s": round(frames_per_s, 1),
                "frames_by_channel": dict(s.frames_by_channel), "frames_lost": s.lost,
                "malformed_frames": s.malformed_frames, "queue_depth": s.queue_depth,
                "last_frame_ns": s.last_frame_ns, "reconnects": s.reconnects, "gaps": s.gaps,
                "server_errors": s.server_errors, "bytes_written": s.bytes_written,
                "segments_sealed": s.segments_sealed, "metrics_url": self.metrics_url,
                "updated_ns": time.time_ns(), "started_ns": s.started_ns}

    def final(self, state: str) -> None:
        """Write the last status (``stopped`` / ``failed``)."""
        self.stats.state = state
        write_status(self.status_file, self.status())
