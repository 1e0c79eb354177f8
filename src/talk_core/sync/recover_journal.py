"""Settling the journal a crashed run left: what each interrupted write did.

A create is journalled before it is sent, so after a crash its entry says
a record may exist that no link knows of. Before a run plans anything,
each entry is settled: the system is asked which record the create made
(``recovery``), its links are written, or the entity is shared again if
it made none. An interrupted delete is simply sent again. Kept apart from
``execute`` because it runs once, first, and not per batch.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from talk_core.connector import Connector
from talk_core.errors import Interrupted, StopRun
from talk_core.model import Entity, Link
from talk_core.store.base import InboxRow, JournalEntry
from talk_core.sync import recovery

if TYPE_CHECKING:
    from talk_core.sync.execute import Executor

log = logging.getLogger("talk.sync")

_STOPS = (StopRun, Interrupted)


def recover_journal(executor: Executor) -> None:
    """Settle creates whose outcome a crash left unknown, before anything else."""
    store, sync = executor.store, executor.sync
    for entry in store.journal_pending():
        instance = sync.systems.get(entry.system)
        if instance is None:
            log.warning("journal: system %s is not configured; entry %s kept",
                        entry.system, entry.key)
            continue
        if executor.dry_run:
            continue
        if entry.payload.get("op") == "delete":
            _recover_delete(executor, instance.connector, entry)
            continue
        try:
            found = recovery.recovered(store, instance.connector, entry)
        except _STOPS:
            raise
        except recovery.Held as held:
            executor.unsettled.add((entry.global_type, entry.global_id, entry.system))
            for candidate in held.candidates:
                sync.held[(entry.system, entry.datatype, candidate)] = (
                    f"may be what an interrupted create of {entry.global_type} "
                    f"{entry.global_id} made; see its dead letter")
            with store.transaction():
                executor.fail(entry.global_type, entry.global_id, entry.system,
                              entry.datatype, "", str(held))
            continue
        except Exception as exc:
            # not known whether it was made, so it is not made again this run
            executor.unsettled.add((entry.global_type, entry.global_id, entry.system))
            log.warning("journal: cannot look %s %s up yet: %s", entry.system, entry.key, exc)
            continue
        with store.transaction():
            if store.link_for(entry.global_type, entry.global_id, entry.system):
                store.clear_dead_letters_for(entry.system, entry.global_type,
                                             entry.global_id)
            elif found is not None:
                for link in links_for_created(executor, entry, found):
                    store.put_link(link)
                executor.siblings.settle(entry.global_type, entry.global_id, entry.system,
                                         entry.datatype, found)
                # the create did happen: the letter its lost answer left is settled
                store.clear_dead_letters_for(entry.system, entry.global_type,
                                             entry.global_id)
            else:
                store.stage([InboxRow(entry.global_type, entry.system, entry.datatype,
                                      "", kind="reshare", global_id=entry.global_id)])
            store.journal_remove(entry.key)


def _recover_delete(executor: Executor, connector: Connector, entry: JournalEntry) -> None:
    """Finish a delete a crash interrupted: deletes are idempotent, so send it again."""
    store = executor.store
    external_id = entry.payload["external_id"]
    try:
        connector.delete(entry.datatype, external_id)
    except _STOPS:
        raise
    except Exception as exc:
        log.warning("journal: cannot finish deleting %s %s %s yet: %s",
                    entry.system, entry.datatype, external_id, exc)
        return
    with store.transaction():
        link = store.get_link(entry.system, entry.datatype, external_id, entry.global_type)
        if link is not None:
            store.delete_link(link)
        store.journal_remove(entry.key)


def links_for_created(executor: Executor, entry: JournalEntry, entity: Entity) -> list[Link]:
    """The links a journalled create's answer gives: the record's, and its lines' if sent inline.

    Shared by recovery and by parents created with their lines, so both
    read the journal entry's ``children`` the same way.
    """
    links = [executor.link_from(entry.global_type, entry.global_id, entry.system,
                                entry.datatype, entity, entry.payload.get("values", {}))]
    children = entry.payload.get("children")
    if children:
        links.extend(_child_links(executor, entry, entity, children))
    return links


def _child_links(executor: Executor, entry: JournalEntry, parent: Entity,
                 children: dict[str, Any]) -> list[Link]:
    field, child_dt, child_gt = children["field"], children["datatype"], children["global_type"]
    _m, cdt = executor.sync.mapping(entry.system, child_dt, child_gt)
    answered = parent.properties.get(field) or []
    links = []
    for (cgid, written), record in zip(children["items"], answered, strict=False):
        child = Entity(str(record.get(cdt.id_field)), dict(record), parent.updated)
        links.append(executor.link_from(child_gt, cgid, entry.system, child_dt, child, written))
    return links
