"""Server-Sent Events from work done in a worker thread: `token` events as the work reports verified text, then one
`final` event with its result, or one `error` event. When the client goes away, the work stops at its next token."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic import BaseModel

from deskpilot.errors import DeskpilotError

logger = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client of a stream went away: stop working for it."""


async def stream_events(work: Callable[[Callable[[str], None]], BaseModel], on_final: Callable[[Any], None],
                        done: Callable[[], None]) -> AsyncIterator[dict[str, str]]:
    """Run `work(on_token)` in a thread and yield its tokens and its result as SSE events.

    Args:
        work: does the job, calling on_token with each piece of text that may be shown; returns the final body.
        on_final: called with the final body before it is sent (metrics).
        done: called once the stream ends, however it ends (frees the caller's slot).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    gone = threading.Event()

    def on_token(token: str) -> None:
        if gone.is_set():
            raise ClientGone  # the client left: the work stops at its next step
        loop.call_soon_threadsafe(queue.put_nowait, ("token", token))

    def run() -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, ("final", work(on_token)))
        except ClientGone:
            logger.info("stream client left; its work was stopped")
        except DeskpilotError as exc:
            loop.call_soon_threadsafe(queue.put_nowait, ("error", str(exc)))
        except Exception as exc:  # the stream must end with an event, whatever failed
            logger.exception("streamed work failed")
            loop.call_soon_threadsafe(queue.put_nowait, ("error", f"internal error: {type(exc).__name__}"))

    task = loop.run_in_executor(None, run)
    try:
        while True:
            kind, value = await queue.get()
            if kind == "token":
                yield {"event": "token", "data": json.dumps({"text": value})}
            elif kind == "final":
                on_final(value)
                yield {"event": "final", "data": value.model_dump_json()}
                break
            else:
                yield {"event": "error", "data": json.dumps({"detail": value})}
                break
        await task
    finally:  # also when the client disconnects (the generator is closed): the work stops at its next token
        gone.set()
        done()
