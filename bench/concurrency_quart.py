"""The Quart side of bench/concurrency.py: the same /data route as vial-examples, a coroutine
that awaits `ms` milliseconds, served by Hypercorn in one process."""

import asyncio

from quart import Quart, request

app = Quart(__name__)


@app.route("/data")
async def data():
    ms = min(max(int(request.args.get("ms", 1000)), 0), 10000)
    await asyncio.sleep(ms / 1000)
    return f"data after {ms} ms"


@app.route("/hello")
async def hello():
    return "Hello, World!"
