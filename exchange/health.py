"""Operations probes: ``/healthz`` (liveness), ``/readyz`` (readiness) and ``/metrics``
(Prometheus, from the app's own ``exchange.metrics.Metrics``)."""

import orjson
from aiohttp import web

from .keys import BATCHER, METRICS, VENUE
from .metrics import CONTENT_TYPE


async def healthz(request: web.Request) -> web.Response:
    """Liveness and the journal's progress; 503 once the journal has failed."""
    batcher = request.app[BATCHER]
    venue = request.app[VENUE]
    ok = batcher.error is None
    body = {"status": "ok" if ok else "failed", "seq": venue.sequencer.seq,
            "committed_seq": batcher.committed_seq, "backlog": batcher.backlog}
    return web.Response(body=orjson.dumps(body), status=200 if ok else 503,
                        content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 once recovered, with the journal writer running and its backlog
    under the bound; 503 otherwise, with the reasons."""
    app = request.app
    venue, batcher = app.get(VENUE), app.get(BATCHER)
    reasons = []
    if venue is None or batcher is None:
        reasons.append("recovering: the venue is not rebuilt yet")
        body = {"ready": False, "reasons": reasons}
    else:
        if batcher.error is not None:
            reasons.append(f"journal failed: {batcher.error!r}")
        elif not batcher.running:
            reasons.append("journal writer not running")
        if batcher.backlog >= venue.max_backlog:
            reasons.append(f"journal backlog {batcher.backlog} is at its bound "
                           f"{venue.max_backlog}: new orders get 503")
        body = {"ready": not reasons, "reasons": reasons, "seq": venue.sequencer.seq,
                "committed_seq": batcher.committed_seq, "backlog": batcher.backlog,
                "max_backlog": venue.max_backlog}
    return web.Response(body=orjson.dumps(body), status=503 if reasons else 200,
                        content_type="application/json")


async def serve_metrics(request: web.Request) -> web.Response:
    """The app's metrics in the Prometheus text format."""
    return web.Response(body=request.app[METRICS].exposition(),
                        headers={"Content-Type": CONTENT_TYPE})


routes = [web.get("/healthz", healthz), web.get("/readyz", readyz),
          web.get("/metrics", serve_metrics)]
