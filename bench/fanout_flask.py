"""The seeds' fan-out in Flask 2.x: an async view calling the upstream n times with aiohttp and
asyncio.gather. Served by gunicorn's gthread worker; the vial fan-out bench starts it.

    gunicorn -k gthread -w 2 --threads 32 --chdir bench fanout_flask:app
    UPSTREAM=http://127.0.0.1:PORT/slow
"""
import asyncio
import os

import aiohttp
from flask import Flask, jsonify, request

app = Flask(__name__)
UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:9000/slow")


async def fetch(session, url):
    async with session.get(url) as resp:
        return await resp.text()


@app.route("/fanout")
async def fanout():
    n = int(request.args.get("n", "5"))
    # The seeds open one session per request (a cached session fails with "event loop is
    # closed" on the next request, since every request gets a fresh loop).
    async with aiohttp.ClientSession() as session:
        bodies = await asyncio.gather(*(fetch(session, UPSTREAM) for _ in range(n)))
    return jsonify(calls=len(bodies), bytes=sum(len(b) for b in bodies))
