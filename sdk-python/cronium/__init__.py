"""Cronium Sandbox SDK for Python scripts (standard library only, Python 3.9+).

Usage::

    import cronium

    data = cronium.get_input()
    cronium.set_output({"processed": len(data or [])})

The module reads ``CRONIUM_API_URL`` and ``CRONIUM_TOKEN`` from the environment at each
call and always talks to the API directly (HTTP(S)_PROXY are ignored). Every failure raises
:class:`CroniumError` (``.status``, ``.code``, ``.message``), except invalid arguments, which
raise ``TypeError``.
"""

from typing import Any, Dict

from ._artifacts import save_artifact
from ._client import Client, CroniumError

__version__ = "0.1.0"

_default = Client()


def get_input() -> Any:
    """Input of the execution (``None`` if none)."""
    return _default.get_input()


def set_output(value: Any = None) -> None:
    """Set the execution's output (any JSON-serialisable value)."""
    _default.set_output(value)


def get_variable(key: str) -> Any:
    """Value of a user variable, or ``None`` when it is not set."""
    return _default.get_variable(key)


def set_variable(key: str, value: Any) -> None:
    """Set a user variable (any JSON-serialisable value)."""
    _default.set_variable(key, value)


def delete_variable(key: str) -> bool:
    """Delete a user variable; returns whether it existed."""
    return _default.delete_variable(key)


def set_condition(condition: bool) -> None:
    """Set the execution's condition flag (must be a bool, else TypeError)."""
    _default.set_condition(condition)


def get_secret(name: str) -> str:
    """Value of a secret granted to this execution (CroniumError SECRET_NOT_GRANTED otherwise)."""
    return _default.get_secret(name)


def context() -> Dict[str, Any]:
    """Execution context: executionId, userId, language, deadline, attempt, event."""
    return _default.context()


# save_artifact(path, name=None) -> str, imported above: copies a file into /work/out (local, no API call).


def event() -> Dict[str, Any]:
    """Legacy: ``{"id", "name", "type", "userId", "executionId"}``."""
    return _default.event()


# camelCase spellings
getInput = get_input
setOutput = set_output
getVariable = get_variable
setVariable = set_variable
deleteVariable = delete_variable
setCondition = set_condition
getSecret = get_secret
saveArtifact = save_artifact

# Legacy Cronium spellings (use get_input / set_output / context in new scripts).
# Note: `cronium.input` is only reachable as an attribute; it is left out of __all__
# so that `from cronium import *` never shadows the builtin input().
input = get_input
output = set_output

__all__ = [
    "Client",
    "CroniumError",
    "get_input",
    "set_output",
    "get_variable",
    "set_variable",
    "delete_variable",
    "set_condition",
    "get_secret",
    "context",
    "save_artifact",
    "event",
    "output",
    "getInput",
    "setOutput",
    "getVariable",
    "setVariable",
    "deleteVariable",
    "setCondition",
    "getSecret",
    "saveArtifact",
]
