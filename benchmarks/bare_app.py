"""The yardstick: a bare Litestar app answering {"status": "ok"}, served like textdesk (uvicorn with
uvloop and httptools, no access log). Benchmarks report textdesk's rates as ratios to this one.

    .venv/bin/python -m uvicorn benchmarks.bare_app:app --loop uvloop --http httptools --no-access-log
"""

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def ok() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([ok])
