"""Errors that cross module lines, each saying what went wrong and where.

The engine sorts connector errors by what they mean for the run: a
``RecordError`` costs one record (dead letter, run goes on), a
``TransientError`` is retried and then dead-lettered (unless it is a
``SystemUnavailable``: then the system is left alone for the run), a ``StopRun``
(``BudgetExhausted``, ``AccessDenied``) ends the run cleanly with all
progress kept, and anything else from a connector is treated like a
``RecordError`` for the record in hand.
"""

from __future__ import annotations


class TalkError(Exception):
    """Base of every error talk raises on purpose."""


class ConfigError(TalkError):
    """The configuration is wrong; the message names file, table and key."""


class UnknownName(ConfigError, KeyError):
    """A datatype or system instance asked for by name that does not exist.

    A ``KeyError`` too, for callers that caught the lookup's error before.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StateError(TalkError):
    """The state file is missing, damaged or from a newer talk."""


class LockedError(StateError):
    """Another sync holds the state's lock."""


class ConnectorError(TalkError):
    """A connector call failed."""


class RecordError(ConnectorError):
    """The system refused or broke one record; the rest of the run can go on."""


class TransientError(ConnectorError):
    """A failure that may pass: timeouts, 429, 5xx after the retries ran out."""


class NotSent(TransientError):
    """The request never left this machine: connection refused, no such host, no token.

    Nothing reached the system, so a create that failed this way made no
    record: its journal entry is settled without asking the system.
    """


class SystemUnavailable(TransientError):
    """The system as a whole did not serve, for no reason of the record's.

    Raised by the HTTP client when no connection could be made, or when
    timeouts, resets or 5xx answers (a maintenance page) outlasted the
    retries. The run leaves that system alone from then on: its reads are
    skipped and its writes wait for the next run, with no dead letter per
    record, and the run ends ``unavailable`` (exit code 7). ``where`` is the
    system's base URL, without credentials.
    """

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(message)
        self.where = where


class Unreachable(NotSent, SystemUnavailable):
    """No connection could be made at all (refused, no such host): unavailable, and not sent."""


class AmbiguousRecovery(ConnectorError):
    """More than one record may be the one a crashed create made: the connector does not guess.

    ``recover`` raises it with the ids of the candidates: ``fitting`` hold
    everything the create sent, ``others`` were made or changed since it was
    sent and fit only in part (perhaps the record, edited since). The engine
    rules out those linked to other entities; exactly one fitting record
    left is the one, none left means the create never happened, and
    anything else is left for a person, with the create held back until
    the next run finds one.
    """

    def __init__(self, message: str, fitting: tuple[str, ...] = (),
                 others: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fitting = fitting
        self.others = others


class StopRun(ConnectorError):
    """A connector failure that no other record can get past: end the run cleanly.

    Everything done so far is kept and what was left is carried over to the
    next run. ``status`` names the reason in the run's result.
    """

    status = "stopped"


class BudgetExhausted(StopRun):
    """The system's request budget is spent: stop now, carry on next run."""

    status = "budget"


class AccessDenied(StopRun):
    """The system refuses talk's credentials; the message says how to fix that."""

    status = "auth"


class CircuitBroken(TalkError):
    """The run would delete far more than is plausible; nothing was deleted."""


class Interrupted(TalkError):
    """The user asked the run to stop; everything done so far is kept."""


class AbandonedInFlight(Interrupted):
    """A stop request abandoned a request already on its way: its outcome is unknown.

    A read abandoned so costs nothing. A write may have been made, as when
    the connection is lost mid-write: a create's journal entry stays for
    the next run's recovery instead of being settled as never sent.
    """

    def __init__(self, message: str, *, may_have_been_made: bool) -> None:
        super().__init__(message)
        self.may_have_been_made = may_have_been_made
