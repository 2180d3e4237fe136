"""Worker logging: records logged in a process task reach the parent's handlers.

In the worker a handler on the root logger sends each record, formatted so that it
pickles, over the worker's result pipe, tagged with the task's key
(``record.syncio_task``); the parent hands it to the logger of the same name. The
handlers a forked worker inherited are removed first, or each record would also be
written by the child's copies: no duplicates under fork. Levels set in the parent
are applied in the worker, so what the parent would drop is not even sent.
"""

from __future__ import annotations

import logging
import pickle
from typing import Callable, Optional

from ._outcome import key_of
from ._pickling import _safe_str  # pyright: ignore[reportPrivateUsage]  # shared message helper

__all__ = ["NO_SLOT", "LogForwarder", "capture_levels", "replay"]

NO_SLOT = 0xFFFFFFFF  # a record logged between tasks


def capture_levels() -> dict[str, int]:
    """The parent's logging levels: the root's effective level and every level set."""
    levels = {"": logging.getLogger().getEffectiveLevel()}
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return levels


class LogForwarder(logging.Handler):
    """Worker side: sends every record to the parent through ``send(slot, payload)``."""

    def __init__(self, send: Callable[[int, bytes], None]) -> None:
        super().__init__()
        self._send = send
        self.slot: Optional[int] = None  # the task in hand, if any

    def install(self, levels: dict[str, int]) -> None:
        """Replace the handlers this process inherited with this one, at the parent's levels."""
        loggers = [logging.getLogger()]
        loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
        for logger in loggers:
            had_handlers = bool(logger.handlers)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            if logger is loggers[0] or (had_handlers and not logger.propagate):
                logger.addHandler(self)
        for name, level in levels.items():
            logging.getLogger(name or None).setLevel(level)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = dict(record.__dict__)
            # Arguments and exc_info may not pickle; the text they make always does.
            fields["msg"] = record.getMessage()
            fields["args"] = None
            if record.exc_info:
                fields["exc_text"] = record.exc_text or logging.Formatter().formatException(record.exc_info)
            fields["exc_info"] = None
            fields["syncio_task"] = None if self.slot is None else key_of(self.slot)
            self._send(NO_SLOT if self.slot is None else self.slot, _dumps(fields))
        except Exception:  # logging must never break the task
            self.handleError(record)


def _dumps(fields: dict[str, object]) -> bytes:
    """A record's fields pickled; any that does not pickle (say, an ``extra=`` lock) as its text."""
    try:
        return pickle.dumps(fields, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        pass
    for name, value in list(fields.items()):
        try:
            pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            fields[name] = _safe_str(value)
    return pickle.dumps(fields, protocol=pickle.HIGHEST_PROTOCOL)


def replay(payload: bytes | bytearray) -> None:
    """Parent side: hand a forwarded record to the logger it was logged on.

    A record that does not unpickle here (an ``extra=`` object whose class cannot be
    rebuilt, say) is replaced by a warning on the ``syncio`` logger: it must not cost
    the gather its results.
    """
    try:
        fields = pickle.loads(payload)
    except Exception as exc:
        logging.getLogger("syncio").warning(
            "a record logged in a worker could not be unpickled here (%s: %s)", type(exc).__name__, exc
        )
        return
    record = logging.makeLogRecord(fields)
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)
