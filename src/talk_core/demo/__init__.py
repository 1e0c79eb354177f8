"""``talk demo``: a small company's records in three emulated systems, synced twice.

``data`` is the company, ``systems`` starts the emulators and writes the
config, ``seeding`` puts each system's share in place, ``records`` reads
and edits records in global terms, ``scenario`` runs the steps and
``summary`` tells what happened.
"""
