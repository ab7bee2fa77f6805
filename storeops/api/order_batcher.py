"""Micro-batching of ``POST /api/v1/orders``: the requests that arrive while the process's
order transactions are busy are written together, in one transaction
(:func:`storeops.orders.channel_batch.write_many`), each request awaiting its own answer.

Nothing waits on purpose: a request finding a writer free is written at once (a batch of
one); under load the requests queue while the writers commit and the next batch takes them
all (up to ``STOREOPS_ORDER_BATCH``, 64 by default). ``STOREOPS_ORDER_BATCHES`` (default 1)
batches are written at the same time per process, on the order writers' threads: one at a
time lets the requests that arrive while it commits make the next batch, and most of a
batch's cost is the same for one order as for sixteen (bench/order_api_bench.py on 2 cores:
about a fifth less CPU per order and more orders per second than with 2).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from storeops.orders.channel import ChannelAnswer, Prepared

BATCH_ENV = "STOREOPS_ORDER_BATCH"
BATCHES_ENV = "STOREOPS_ORDER_BATCHES"


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, "") or default))
    except ValueError:
        return default


@dataclass
class OrderBatcher:
    """One per event loop: the queue of requests waiting to be written."""

    executor: Executor
    max_batch: int = field(default_factory=lambda: _env_int(BATCH_ENV, 64))
    max_running: int = field(default_factory=lambda: _env_int(BATCHES_ENV, 1))
    queue: list[tuple[Prepared, str, asyncio.Future[Any]]] = field(default_factory=list)
    running: int = 0
    batches: int = 0  # written so far (for tests and figures)
    largest: int = 0

    async def write(self, prepared: Prepared, *, actor: str) -> ChannelAnswer | None:
        """The request's answer as :func:`storeops.orders.channel.write` gives it (None:
        prepare it again); raises what it raised."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append((prepared, actor, future))
        if self.running < self.max_running:
            self.running += 1
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        from storeops.orders.channel_batch import run_batch

        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(0)  # let the requests of this moment join
            while self.queue:
                taken, self.queue = (self.queue[:self.max_batch],
                                     self.queue[self.max_batch:])
                self.batches += 1
                self.largest = max(self.largest, len(taken))
                try:
                    results = await loop.run_in_executor(
                        self.executor, run_batch, [t[0] for t in taken], [t[1] for t in taken])
                except BaseException as exc:  # the batch itself failed: each hears why
                    results = [exc] * len(taken)
                for (_p, _a, future), result in zip(taken, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.running -= 1


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderBatcher] = \
    weakref.WeakKeyDictionary()


def batcher_for(executor: Executor) -> OrderBatcher:
    """The running event loop's batcher (created on first use)."""
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None or found.executor is not executor:
        found = _batchers[loop] = OrderBatcher(executor)
    return found
