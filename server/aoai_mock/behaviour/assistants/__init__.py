"""The Assistants v2 API and vector stores, without HTTP.

* :mod:`.requests` -- request bodies (pydantic), refused in the service's words;
* :mod:`.objects` (assistants), :mod:`.threads` (threads and messages), :mod:`.runs` (runs, steps, the
  lifecycle), :mod:`.engine` (what a run does when it runs), :mod:`.conversation` (the run as the scenario
  engine sees it), :mod:`.steps`, :mod:`.events` and :mod:`.streaming` (the assistant event stream);
* :mod:`.vector_stores`, :mod:`.vector_store_files` and :mod:`.search` (chunks, embeddings, scores).

Everything lives in the runtime's store, so a SQLite store keeps it across restarts.
"""
