# SPDX-License-Identifier: MIT
"""asyncio: await frames through the consumer's descriptor (no thread).

``await consumer.acquire_async()`` and ``async for frame in
consumer.frames()``: the event loop watches ``consumer.fileno()`` with
``loop.add_reader``; when it turns readable, ``acquire(0)`` takes the frame
(or answers WouldBlock, which re-arms the descriptor, and the wait goes on).
Nothing is acquired while the coroutine is suspended, so cancelling it
leaves no frame held, and the reader is removed in every case.
"""
import asyncio

from . import _lib
from .errors import ProducerGone, Timeout


async def acquire_async(consumer, timeout=None):
    """See Consumer.acquire_async."""
    fr = consumer.try_acquire()
    if fr is not None:
        return fr
    if timeout is not None and timeout <= 0:
        return consumer.acquire(0)  # raises WouldBlock, as acquire(0) does
    loop = asyncio.get_running_loop()
    fd = consumer.fileno()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        ready = loop.create_future()

        def on_readable(ready=ready):
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, on_readable)
        try:
            if deadline is None:
                await ready
            else:
                left = deadline - loop.time()
                if left <= 0:
                    raise Timeout(_lib.ETIMEDOUT, "acquire_async: no frame within the timeout")
                try:
                    await asyncio.wait_for(ready, left)
                except asyncio.TimeoutError:
                    raise Timeout(_lib.ETIMEDOUT,
                                  "acquire_async: no frame within the timeout") from None
        finally:
            loop.remove_reader(fd)
        # Readable: a frame, a producer gone (raises), or (rarely) nothing,
        # in which case acquire(0) has re-armed the descriptor.
        fr = consumer.try_acquire()
        if fr is not None:
            return fr


async def frames(consumer):
    """See Consumer.frames."""
    while True:
        prev = consumer.held
        if prev is not None:
            consumer.release(prev)
        try:
            fr = await acquire_async(consumer, None)
        except ProducerGone:
            return
        yield fr
