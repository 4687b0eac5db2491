"""Imported once in the gateway's forkserver (Supervisor start_method "forkserver",
gateway/service.py), never elsewhere: a worker forked from it then starts in
milliseconds, and the forkserver outlives a SIGTERM sent to every process of a systemd
unit (KillMode=control-group), as the workers do (pool.py). Were it to die, multiprocessing
would lose track of its workers: the supervisor could no longer stop them."""

from __future__ import annotations

import signal

import pynetdicom  # noqa: F401

import deid.dicom.handler  # noqa: F401
import deid.engine.executors.pool  # noqa: F401
import deid.engine.sinks.cstore  # noqa: F401

signal.signal(signal.SIGTERM, signal.SIG_IGN)
