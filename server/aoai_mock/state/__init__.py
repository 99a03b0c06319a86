"""State the control API inspects and resets: plain objects behind small stores, no HTTP here."""

from aoai_mock.state.journal import FilterError, Filters, Journal
from aoai_mock.state.record import Record

__all__ = ["Journal", "Record", "Filters", "FilterError"]
