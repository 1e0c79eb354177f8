"""SharedFeed: one read serves every datatype once; nobody is served an older read twice."""

from __future__ import annotations

from typing import Any

from talk_core.feed import SharedFeed, Snapshot


class Feed:
    """A feed of numbered records; counts the reads and what they started from."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.reads: list[int | None] = []
        self.kept_from = 0  # the oldest position still kept: older records have expired

    def add(self, n: int) -> None:
        self.records.append({"at": n})

    def fetch(self, after: int | None) -> Snapshot:
        self.reads.append(after)
        top = max((r["at"] for r in self.records), default=0)
        if after is None:
            return Snapshot([], top, top)
        kept = [r for r in self.records if r["at"] >= self.kept_from]
        if after < self.kept_from - 1:  # ran out before reaching the cursor
            return Snapshot([r for r in kept if r["at"] > after], self.kept_from - 1, top,
                            bottom=True)
        return Snapshot([r for r in kept if r["at"] > after], after, top)


def shared(feed: Feed) -> SharedFeed:
    return SharedFeed(feed.fetch, lambda r: int(r["at"]))


def test_one_read_serves_every_reader_from_its_own_cursor() -> None:
    feed = Feed()
    for n in (1, 2, 3, 4):
        feed.add(n)
    cache = shared(feed)
    assert cache.since("customers", 1) == ([{"at": 2}, {"at": 3}, {"at": 4}], 4)
    assert cache.since("invoices", 3) == ([{"at": 4}], 4)
    assert cache.since("contacts", 4) == ([], 4)
    assert feed.reads == [1]


def test_a_reader_asking_again_gets_a_fresh_read() -> None:
    feed = Feed()
    feed.add(1)
    cache = shared(feed)
    assert cache.since("customers", 0) == ([{"at": 1}], 1)
    feed.add(2)
    assert cache.since("invoices", 1) == ([], 1), "the run's read, taken before the change"
    assert cache.since("customers", 1) == ([{"at": 2}], 2)
    assert cache.since("invoices", 1) == ([{"at": 2}], 2), "the new read serves the others"
    assert feed.reads == [0, 1]


def test_a_cursor_older_than_the_read_reads_again_from_there() -> None:
    feed = Feed()
    for n in (1, 2, 3):
        feed.add(n)
    cache = shared(feed)
    cache.since("customers", 2)
    assert cache.since("contacts", 0) == ([{"at": 1}, {"at": 2}, {"at": 3}], 3)
    assert feed.reads == [2, 0]


def test_a_first_read_asks_only_for_the_newest_position() -> None:
    feed = Feed()
    cache = shared(feed)
    assert cache.since("customers", None) == ([], 0)
    feed.add(5)
    assert cache.since("contacts", None) == ([], 0), "served from the same run's read"
    assert cache.since("customers", None) == ([], 5)
    assert cache.since("invoices", 7) == ([], 7), "a cursor never moves back"


def test_a_read_again_from_further_back_does_not_serve_the_next_run_old_news() -> None:
    feed = Feed()
    for n in (1, 2, 3):
        feed.add(n)
    cache = shared(feed)
    cache.since("customers", 3)
    cache.since("contacts", 3)
    assert cache.since("lines", 0) == ([{"at": 1}, {"at": 2}, {"at": 3}], 3)
    feed.add(4)  # between this run and the next
    assert cache.since("customers", 3) == ([{"at": 4}], 4)
    assert cache.since("contacts", 3) == ([{"at": 4}], 4), "served the next run's read"
    assert feed.reads == [3, 0, 3]


def test_a_read_that_no_longer_reaches_a_cursor_says_so_and_is_not_repeated() -> None:
    feed = Feed()
    for n in (1, 2, 3, 4):
        feed.add(n)
    feed.kept_from = 3  # 1 and 2 have expired
    cache = shared(feed)
    assert cache.since("customers", 2) == ([{"at": 3}, {"at": 4}], 4)
    assert cache.reaches(2), "every record after 2 is still there"
    assert cache.since("invoices", 1) == ([{"at": 3}, {"at": 4}], 4)
    assert not cache.reaches(1), "record 2 is gone"
    assert feed.reads == [2, 1], "the read from 1 ran down to the oldest record"
    assert cache.since("contacts", 0) == ([{"at": 3}, {"at": 4}], 4)
    assert not cache.reaches(0)
    assert feed.reads == [2, 1], "reading again cannot reach further back"
