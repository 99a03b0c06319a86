"""The baseline app served the way aoai-mock serves itself: uvicorn with aoai-mock's write-coalescing
protocol (one write per response) and no `server` header. `run.py --same-protocol` adds this run, so the
figures show the mock's own cost apart from the protocol it ships with.

    python bench/baseline_same_protocol.py PORT
"""

from __future__ import annotations

import sys

import uvicorn
from aoai_mock.http.protocol import UVICORN_OPTIONS
from baseline_app import app

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                **UVICORN_OPTIONS)
