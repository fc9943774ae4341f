"""The distributed worker: any number of processes share the polling of many connections.

There is no leader. Each MetaKraftwerk connection has a schedule row; a worker claims due rows
with `FOR UPDATE SKIP LOCKED` (a lease with a generation), polls them on a bounded pool, and
commits what it found together with the next poll time in one transaction that re-checks the
lease first. A worker that dies leaves its leases to run out, and another takes them.
PostgreSQL only: SQLite keeps the single leader worker in `bot.notify.worker`.
"""
