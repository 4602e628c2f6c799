"""The single writer: stamps, journals (group commit) and applies commands in order.

Write-ahead: a batch is committed to the journal first and only then applied to the venue and
acknowledged, so readers never see a state that a crash could take back, and whatever was
acknowledged is in the journal. Every command queued while the previous commit ran goes into the
next transaction (group commit): one fsync per batch, not per command.

Each command gets its `time` here, before it is journaled: the writer's wall clock in ms, never
earlier than the previous command's, so replaying the journal is deterministic.

Garbage collection (`manage_gc`): CPython's full collections scan every live object and, with a
venue's history in memory, paused the server for 100+ ms at unpredictable moments (the p99). The
served writer instead runs a full collection only at start-up and at each snapshot (already a pause),
then freezes what is alive so later collections do not scan it; young generations are collected as
usual.

Periodic snapshots of a served venue are written by a forked child (`fork_snapshots`): the child
pickles its copy-on-write image of the venue and saves it over its own connection while the writer
goes on; the shutdown snapshot is taken in-process.

Restart = the latest snapshot (a pickled `Venue`, checked against its stored state hash) plus the
journal after it. Snapshots are taken every `snapshot_every` commands and on shutdown.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from solvent.service.journal import Journal, open_journal
from solvent.service.venue import PUBLIC_STREAM_TYPES, Event, Result, Venue, replay

log = logging.getLogger("solvent.service")

_STOP = object()


class WriterUnavailable(RuntimeError):
    """The journal failed; the writer stopped so that nothing unjournaled is ever acknowledged."""


def restore(journal: Journal) -> Venue:
    """The latest snapshot (if it verifies) plus every journaled command after it."""
    venue: Venue | None = None
    snapshot = journal.latest_snapshot()
    if snapshot is not None:
        seq, state_hash, blob = snapshot
        candidate = pickle.loads(blob)
        if isinstance(candidate, Venue) and candidate.seq == seq and candidate.state_hash() == state_hash:
            venue = candidate
        else:
            log.warning("snapshot at seq %s does not verify; replaying the whole journal", seq)
    return replay(journal.read(venue.seq if venue is not None else 0), venue)


def collect_garbage(full: bool = True) -> None:
    """A collection, then freeze the survivors: later collections skip them. Not `full`, objects frozen
    before are not looked at again (cheap; cycles among them that died since stay)."""
    if full:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


def _save_snapshot_and_exit(url: str, venue: Venue) -> None:  # pragma: no cover (runs in the forked child)
    """In a forked child: save the venue over a new connection, then leave without running any of the
    parent's finalizers (its connections must not be closed from here)."""
    code = 1
    try:
        journal = open_journal(url)
        journal.save_snapshot(venue.seq, venue.state_hash(), pickle.dumps(venue, protocol=pickle.HIGHEST_PROTOCOL))
        journal.close()
        code = 0
    except BaseException:
        log.exception("snapshot child failed")
    finally:
        os._exit(code)


def _reap(pid: int, seq: int) -> int:
    _, status = os.waitpid(pid, 0)
    if status != 0:
        log.error("the snapshot at seq %s failed (child status %s); the next one will be tried", seq, status)
    return status


def full_replay(journal: Journal) -> Venue:
    """The venue rebuilt from the first journaled command, ignoring snapshots."""
    return replay(journal.read(0))


class Writer:
    def __init__(self, journal: Journal, venue: Venue, *, snapshot_every: int = 100_000, max_batch: int = 4096,
                 clock: Callable[[], float] = time.time, manage_gc: bool = False,
                 fork_snapshots: bool = False) -> None:
        self.journal = journal
        self.venue = venue
        self.snapshot_every = snapshot_every
        self.max_batch = max_batch
        self.clock = clock
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="solvent-journal")
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.last_time = venue.engine.now
        self.snapshot_seq = venue.seq
        self.failure: BaseException | None = None
        self.subscribers: set[asyncio.Queue[Event | None]] = set()
        self.batches = 0
        self.manage_gc = manage_gc
        self.fork_snapshots = fork_snapshots and hasattr(os, "fork")
        self._snapshot_child: asyncio.Future[int] | None = None
        if manage_gc:
            gc.set_threshold(20_000, 20, 1_000_000_000)  # generation 2 only when we ask (collect_garbage)
            collect_garbage()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, journal: Journal, **options: Any) -> Writer:
        executor = ThreadPoolExecutor(max_workers=1)
        try:
            venue = await asyncio.get_running_loop().run_in_executor(executor, restore, journal)
        finally:
            executor.shutdown()
        return cls(journal, venue, **options)

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="solvent-writer")

    async def stop(self) -> None:
        """Finish what is queued, take a snapshot, close the journal."""
        if self._task is not None:
            await self.queue.put(_STOP)
            await self._task
            self._task = None
        if self._snapshot_child is not None:
            await self._snapshot_child
        if self.failure is None and self.venue.seq > self.snapshot_seq:
            await self.snapshot()
        for subscriber in list(self.subscribers):
            subscriber.put_nowait(None)
        await self._in_executor(self.journal.close)
        self.executor.shutdown()

    # ---- commands ----------------------------------------------------------------------------------
    async def submit(self, command: dict[str, Any]) -> Result:
        """Journal and apply one command; return its result once it is durable."""
        if self.failure is not None:
            raise WriterUnavailable(f"writes are halted ({self.failure})") from self.failure
        previous = self.venue.order_result(command)
        if previous is not None:  # a retried order: answer from the durable original, journal nothing
            return Result(self.venue.seq, previous, duplicate=True)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self.queue.put((command, future))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = []
            item = await self.queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= self.max_batch or self.queue.empty():
                    break
                item = self.queue.get_nowait()
            if batch:
                await self._commit(batch)
            if self.failure is None and self.venue.seq - self.snapshot_seq >= self.snapshot_every:
                if self.fork_snapshots:
                    self.snapshot_in_child()
                else:
                    await self.snapshot()

    async def _commit(self, batch: list[tuple[dict[str, Any], asyncio.Future[Result]]]) -> None:
        if self.failure is not None:
            for _, future in batch:
                future.set_exception(WriterUnavailable("the journal is unavailable"))
            return
        rows = []
        seq = self.venue.seq
        now = self.last_time
        for command, _ in batch:
            now = max(now, int(self.clock() * 1000))
            seq += 1
            stamped = {**command, "time": now}
            rows.append((seq, json.dumps(stamped, sort_keys=True, separators=(",", ":"))))
        try:
            await self._in_executor(self.journal.append, rows)
        except BaseException as error:  # nothing of the batch is durable: refuse it and stop writing
            log.exception("journal append failed; the writer stops")
            self.failure = error
            for _, future in batch:
                if not future.done():
                    future.set_exception(WriterUnavailable("the journal is unavailable"))
            return
        self.last_time = now
        self.batches += 1
        for (seq, text), (_, future) in zip(rows, batch, strict=True):
            result = self.venue.apply(seq, json.loads(text))
            self._publish(result.events)
            if not future.done():
                future.set_result(result)
            refusal = result.rejection
            if refusal is not None and refusal.get("internal") and self.failure is None:
                # an engine bug: stop writing loudly; the journal replays the command the same way
                log.error("engine error at journal seq %s; the writer stops until a restart", seq)
                self.failure = RuntimeError(f"engine error at journal seq {seq}")

    # ---- snapshots and the live stream -------------------------------------------------------------
    async def snapshot(self) -> int:
        if self.manage_gc:
            collect_garbage()
        seq, digest = self.venue.seq, self.venue.state_hash()
        blob = pickle.dumps(self.venue, protocol=pickle.HIGHEST_PROTOCOL)
        await self._in_executor(self.journal.save_snapshot, seq, digest, blob)
        self.snapshot_seq = seq
        return seq

    def snapshot_in_child(self) -> None:
        """Fork; the child saves the snapshot and exits, the writer does not wait for it."""
        if self._snapshot_child is not None and not self._snapshot_child.done():
            return  # one at a time: the next batch tries again
        if self.manage_gc:
            collect_garbage(full=False)
        seq = self.venue.seq
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child; coverage cannot see it)
            _save_snapshot_and_exit(self.journal.url, self.venue)
        self.snapshot_seq = seq
        self._snapshot_child = asyncio.get_running_loop().run_in_executor(None, _reap, pid, seq)

    def subscribe(self, size: int = 1000) -> asyncio.Queue[Event | None]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(size)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        self.subscribers.discard(queue)

    def _publish(self, events: list[Event]) -> None:
        if not self.subscribers:
            return
        for event in events:
            if event["type"] not in PUBLIC_STREAM_TYPES:
                continue
            for subscriber in list(self.subscribers):
                try:
                    subscriber.put_nowait(event)
                except asyncio.QueueFull:  # a reader that cannot keep up is dropped, never waited for
                    self.subscribers.discard(subscriber)
                    subscriber.get_nowait()
                    subscriber.put_nowait(None)

    async def _in_executor(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)
