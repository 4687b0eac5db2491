"""A time limit around one input's work that fires in any thread.

A corrupt file can send a parser round forever: pydicom's JPEG 2000 parameter scan
loops on a JP2 box whose length is 0, and deid's own parsing is Python too. In the main
thread the limit is SIGALRM (it also breaks a blocking read, e.g. of a FIFO); in any
other thread (a Dask worker's) it is an exception set on that thread. Neither stops
native code that never returns to Python: the local pool's supervisor kills such a
worker (engine/executors/pool.py), which is why `--engine local` is the default.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Any, Iterator


class TimeLimit(BaseException):
    """Raised inside the work when its time is up. A BaseException, so that the
    `except Exception` nets of the libraries it runs through cannot swallow it."""


# what stops the work instead of describing the input: a net that turns whatever an input
# raises (a native decoder's panic is a BaseException too) into a quarantine or a finding
# lets these through
STOPS = (KeyboardInterrupt, SystemExit, TimeLimit)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimit in this thread when the block runs longer than `seconds` (0: no limit)."""
    if not seconds or seconds <= 0:
        yield
    elif threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _alarm(seconds):
            yield
    else:
        with _async(seconds):
            yield


def _raise(_signum: int, _frame: FrameType | None) -> None:
    raise TimeLimit


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then raise each one that came again,
    for the handler put back (Python's Ctrl-C: KeyboardInterrupt; the session's SIGTERM
    handler; the default): the driver records an outcome and
    counts it as one step, so a stop can never land between the audit row and the count
    (a run whose books then do not balance). A signal that was ignored stays ignored. In
    the main thread only (the only one that runs signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        held.append(signum)

    previous: dict[int, Any] = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, hold)
        yield
    finally:
        _restore(previous)
    for signum in dict.fromkeys(held):  # to the handlers just put back
        signal.raise_signal(signum)


def _restore(previous: dict[int, Any]) -> None:
    """Each handler put back, even when one of them fires (raises) while the others are."""
    if not previous:
        return
    sig, handler = previous.popitem()
    try:
        _restore(previous)
    finally:
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _set_async(thread_id: int, exc: type | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


@contextmanager
def _async(seconds: float) -> Iterator[None]:
    target, lock, state = threading.get_ident(), threading.Lock(), {"armed": True, "fired": False}

    def fire() -> None:
        with lock:
            if state["armed"]:
                state["fired"] = True
                _set_async(target, TimeLimit)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["armed"] = False
            if state["fired"]:
                _set_async(target, None)  # not delivered yet: it must not hit the next item
        timer.cancel()
