"""Record and replay: a proxy in front of a real Azure resource that writes fixtures, and their replay.

``aoai-mock record --upstream URL`` runs :mod:`aoai_mock.record.proxy`; ``aoai-mock serve --replay DIR``
answers from the files (:mod:`aoai_mock.http.replay`). The file format is in :mod:`aoai_mock.record.fixtures`.
"""
