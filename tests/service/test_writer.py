"""The writer on its own: group commit, time stamps, snapshots that do not verify, a failing journal."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from solvent.service.journal import SqliteJournal
from solvent.service.venue import Venue
from solvent.service.writer import Writer, WriterUnavailable, full_replay, restore

SETUP = [{"op": "add_asset", "asset": "USDT"}, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "10"}]


def deposits(count: int) -> list[dict[str, object]]:
    return [{"op": "deposit", "account": f"acct{index % 7}", "asset": "USDT", "amount": "1.5"}
            for index in range(count)]


async def run(journal: SqliteJournal, commands: list[dict[str, object]], **options: object) -> Writer:
    writer = await Writer.open(journal, **options)  # type: ignore[arg-type]
    writer.start()
    await asyncio.gather(*(writer.submit(command) for command in SETUP + commands))
    await writer.stop()
    return writer


def test_concurrent_commands_share_commits_and_get_non_decreasing_times(tmp_path: Path) -> None:
    ticks = iter([100.0, 99.0, 98.0] + [101.0] * 1000)  # the clock steps back twice
    writer = asyncio.run(run(SqliteJournal(tmp_path / "j.db"), deposits(300), clock=lambda: next(ticks)))
    assert writer.venue.seq == 302 and writer.batches < 302 / 4
    journal = SqliteJournal(tmp_path / "j.db")
    times = [json.loads(text)["time"] for _, text in journal.read()]
    assert times == sorted(times) and times[0] == 100_000 and times[-1] == 101_000
    assert full_replay(journal).state_hash() == writer.venue.state_hash()


def test_a_snapshot_that_does_not_verify_is_ignored_for_a_full_replay(tmp_path: Path) -> None:
    writer = asyncio.run(run(SqliteJournal(tmp_path / "j.db"), deposits(20)))
    journal = SqliteJournal(tmp_path / "j.db")
    snapshot = journal.latest_snapshot()
    assert snapshot is not None and snapshot[0] == 22
    forged = Venue()
    forged.seq = 22  # claims to be the venue after 22 commands, but is empty
    journal.save_snapshot(23, snapshot[1], pickle.dumps(forged))
    assert restore(journal).state_hash() == writer.venue.state_hash()


def test_snapshot_plus_tail_equals_full_replay(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    asyncio.run(run(journal, deposits(50), snapshot_every=16, max_batch=10))
    journal = SqliteJournal(tmp_path / "j.db")
    journal.db.execute("DELETE FROM solvent_snapshot WHERE seq = (SELECT MAX(seq) FROM solvent_snapshot)")
    snapshot = journal.latest_snapshot()
    assert snapshot is not None and snapshot[0] < 52  # an older periodic snapshot; the tail is replayed
    assert restore(journal).state_hash() == full_replay(journal).state_hash()


class FailingJournal(SqliteJournal):
    def append(self, rows: Sequence[tuple[int, str]]) -> None:
        raise OSError("disk full")


def test_a_failing_journal_acknowledges_nothing_and_stops_the_writer(tmp_path: Path) -> None:
    async def scenario() -> Venue:
        writer = await Writer.open(FailingJournal(tmp_path / "j.db"))
        writer.start()
        with pytest.raises(WriterUnavailable):
            await writer.submit(SETUP[0])
        with pytest.raises(WriterUnavailable):
            await writer.submit(SETUP[0])
        await writer.stop()
        return writer.venue

    venue = asyncio.run(scenario())
    assert venue.seq == 0 and not venue.engine.assets


def test_an_engine_error_answers_that_command_and_halts_writes(tmp_path: Path) -> None:
    async def scenario() -> tuple[Writer, list[dict[str, object]]]:
        writer = await Writer.open(SqliteJournal(tmp_path / "j.db"))
        writer.start()
        for command in SETUP:
            await writer.submit(command)
        real_apply = writer.venue.engine.apply

        def buggy(command: Mapping[str, Any]) -> list[dict[str, Any]]:
            if command.get("amount") == "13":
                raise ZeroDivisionError("planted")
            return real_apply(command)

        writer.venue.engine.apply = buggy  # type: ignore[method-assign]
        result = await writer.submit({"op": "deposit", "account": "a", "asset": "USDT", "amount": "13"})
        with pytest.raises(WriterUnavailable, match="engine error at journal seq 3"):
            await writer.submit(SETUP[1])
        await writer.stop()
        return writer, result.events

    writer, events = asyncio.run(scenario())
    assert events[0]["internal"] is True and events[0]["field"] == "command"
    assert writer.venue.seq == 3  # the failing command is journaled: a replay meets it the same way


def test_periodic_snapshots_written_by_a_forked_child_restore_to_the_full_replay(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    asyncio.run(run(journal, deposits(100), snapshot_every=20, max_batch=10, fork_snapshots=True))
    journal = SqliteJournal(tmp_path / "j.db")
    journal.db.execute("DELETE FROM solvent_snapshot WHERE seq = 102")  # the shutdown one, taken in-process
    snapshot = journal.latest_snapshot()
    assert snapshot is not None and 20 <= snapshot[0] < 102
    venue = pickle.loads(snapshot[2])
    assert venue.seq == snapshot[0] and venue.state_hash() == snapshot[1]
    assert restore(journal).state_hash() == full_replay(journal).state_hash()
