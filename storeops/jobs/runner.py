"""Running the consumer: in the foreground (``storeops worker``) or in a background thread of
another command (``storeops serve`` and ``storeops demo`` on the embedded default)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from huey.consumer import Consumer

from storeops.jobs.queue import Jobs

logger = logging.getLogger("storeops.jobs")

DEFAULT_THREADS = 2
STOP_TIMEOUT = 30.0  # seconds a stop waits for running tasks (their locks expire anyway)


def make_consumer(jobs: Jobs, *, threads: int = DEFAULT_THREADS, max_delay: float = 2.0,
                  in_process: bool = False) -> Consumer:
    """A thread-based Huey consumer of ``jobs`` (periodic tasks on)."""
    cls = _BackgroundConsumer if in_process else Consumer
    return cls(jobs.huey, workers=threads, worker_type="thread", periodic=True,
               scheduler_interval=1, max_delay=max_delay, check_worker_health=True,
               shutdown_timeout=STOP_TIMEOUT)


class _BackgroundConsumer(Consumer):
    """A consumer inside another program: signals belong to the host (Uvicorn), which stops
    the consumer when it stops."""

    def _set_signal_handlers(self) -> None:
        pass


class InProcessWorker:
    """A Huey consumer in background threads of this process."""

    def __init__(self, jobs: Jobs, *, threads: int = DEFAULT_THREADS,
                 max_delay: float = 2.0) -> None:
        self.jobs = jobs
        self.consumer = make_consumer(jobs, threads=threads, max_delay=max_delay,
                                      in_process=True)
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._watch is not None and self._watch.is_alive()

    def start(self) -> None:
        self.consumer.start()
        self._watch = threading.Thread(target=self._health, name="jobs-health", daemon=True)
        self._watch.start()
        logger.info("background jobs running in this process (%s queue %s)",
                    self.jobs.backend, self.jobs.where)

    def _health(self) -> None:
        # What Consumer.run's loop does in a worker of its own: restart a dead thread.
        while not self._stop.wait(10):
            try:
                self.consumer.check_worker_health()
            except Exception:
                logger.exception("checking the job threads failed")

    def stop(self) -> None:
        """Stop taking tasks; wait (up to STOP_TIMEOUT) for the running ones to finish."""
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout=5)
        self.consumer.stop(graceful=True)
        self.jobs.huey.notify_interrupted_tasks()
        logger.info("background jobs stopped")


@contextmanager
def in_process_worker(jobs: Jobs, *, threads: int = DEFAULT_THREADS,
                      max_delay: float = 2.0) -> Iterator[InProcessWorker]:
    """Run ``jobs``' consumer in background threads for the block."""
    worker = InProcessWorker(jobs, threads=threads, max_delay=max_delay)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
