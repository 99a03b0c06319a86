"""State the control API inspects and resets: plain objects behind small stores, no HTTP here."""

from aoai_mock.state.journal import Entry, FilterError, Filters, Journal

__all__ = ["Journal", "Entry", "Filters", "FilterError"]
