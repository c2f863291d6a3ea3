"""dbt on the local warehouse in its turn (lake_assets.warehouse_lock): the dbt assets' runs (stream_dbt)
and `make dbt`'s (warehouse_cli), each run again when it failed on DuckDB's lock before any node.

dbt-duckdb opens the file once (`keep_open`), before its first node, and keeps it open until it
exits: a run that failed on the lock before a node started has written nothing.
"""

from __future__ import annotations

import re

from lake_assets.warehouse_lock import Holder, WarehouseLock, duckdb_lock_holder, hold_and_retry

# A dbt node began ("1 of 37 START sql view model ..."): from then on a run may have written.
_DBT_NODE_STARTED = re.compile(r"\b\d+ of \d+ START\b")


def dbt_lock_failure(output: str) -> Holder | None:
    """Who held the warehouse when a dbt run failed on DuckDB's lock before any node started
    (so it wrote nothing); None when the output shows another failure, or a started node."""
    if _DBT_NODE_STARTED.search(output):
        return None
    return duckdb_lock_holder(output)


def stream_dbt(context, dbt, args: list[str], lock: WarehouseLock | None, stream=lambda invocation: invocation.stream(),
               **cli_kwargs):
    """`stream(dbt.cli(args, context=context, **cli_kwargs))`, taking its turn on a local warehouse first.

    `stream` turns the invocation into Dagster events (by default its plain `.stream()`). With
    `lock` None (BigQuery takes concurrent writers) it is exactly that. Otherwise it holds `lock` for
    the whole dbt run, and for what `stream` reads of the warehouse after it, and runs dbt again,
    within the same deadline, when it failed on DuckDB's lock before any node (another process took
    the file in between).
    """
    if lock is None:
        yield from stream(dbt.cli(args, context=context, **cli_kwargs))
        return

    def attempt():
        invocation = dbt.cli(args, context=context, raise_on_error=False, **cli_kwargs)
        events = 0
        for event in stream(invocation):
            events += 1
            yield event
        error = invocation.get_error()
        if error is None:
            return None
        holder = dbt_lock_failure(str(error)) if events == 0 else None
        if holder is None:
            raise error
        return holder

    yield from hold_and_retry(lock, f"dbt {args[0]}, Dagster run {context.run.run_id[:8]}", attempt)
