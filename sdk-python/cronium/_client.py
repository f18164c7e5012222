"""HTTP client for the Cronium runtime API (standard library only)."""

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional, Sequence

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRY_DELAYS = (0.1, 0.25, 0.6)

_NO_PROXY_OPENER = urllib.request.build_opener(
    # An empty ProxyHandler disables HTTP(S)_PROXY: the API is always reached directly.
    urllib.request.ProxyHandler({}),
)


class CroniumError(Exception):
    """Raised for every SDK failure.

    ``status`` is the HTTP status (``None`` when no HTTP response was received) and ``code``
    the server's error code (e.g. ``SECRET_NOT_GRANTED``) or one of the SDK's own codes:
    ``NOT_IN_CRONIUM``, ``INVALID_CONFIG``, ``CONNECTION_FAILED``, ``INVALID_RESPONSE``, ``HTTP_<status>``,
    and for ``save_artifact``: ``FILE_NOT_FOUND``, ``NOT_A_FILE``, ``ARTIFACT_CONFLICT``, ``ARTIFACT_WRITE_FAILED``.
    """

    def __init__(self, message: str, status: Optional[int] = None, code: str = "ERROR",
                 field: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.field = field

    def __repr__(self) -> str:
        return "CroniumError(status={!r}, code={!r}, message={!r})".format(self.status, self.code, self.message)


def _is_connection_error(err: BaseException) -> bool:
    """Errors where no HTTP response was obtained (retried), as opposed to HTTP errors (not retried)."""
    if isinstance(err, urllib.error.HTTPError):
        return False
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        return isinstance(reason, (OSError, socket.timeout, http.client.HTTPException)) or isinstance(reason, str)
    return isinstance(err, (OSError, socket.timeout, http.client.HTTPException))


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        err = err.reason if isinstance(err.reason, BaseException) else err
    if isinstance(err, (socket.timeout, TimeoutError)):
        return "timed out"
    return "{}: {}".format(type(err).__name__, err) if str(err) else type(err).__name__


def _quote(what: str, key: Any) -> str:
    if not isinstance(key, str) or key == "":
        raise TypeError("cronium: {} must be a non-empty string".format(what))
    return urllib.parse.quote(key, safe="")


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else None


class Client:
    """A runtime API client.

    Without arguments it reads ``CRONIUM_API_URL`` and ``CRONIUM_TOKEN`` from the environment
    at each call. ``api_url`` / ``token`` override them (useful in tests).
    """

    def __init__(self, api_url: Optional[str] = None, token: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT,
                 retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS) -> None:
        self._api_url = api_url
        self._token = token
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)

    # -- transport -----------------------------------------------------------------------------

    def _config(self):
        api_url = self._api_url if self._api_url is not None else os.environ.get("CRONIUM_API_URL")
        token = self._token if self._token is not None else os.environ.get("CRONIUM_TOKEN")
        if not api_url:
            raise CroniumError("not running inside Cronium: CRONIUM_API_URL is not set", code="NOT_IN_CRONIUM")
        if not token:
            raise CroniumError("not running inside Cronium: CRONIUM_TOKEN is not set", code="NOT_IN_CRONIUM")
        scheme = urllib.parse.urlsplit(api_url).scheme
        if scheme not in ("http", "https"):
            raise CroniumError("invalid CRONIUM_API_URL (must be http or https): {!r}".format(api_url),
                               code="INVALID_CONFIG")
        return api_url.rstrip("/"), token

    def _request(self, method: str, path: str, body: Any = None, has_body: bool = False,
                 not_found_code: Optional[str] = None) -> Any:
        base, token = self._config()
        url = base + path
        headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
        data = None
        if has_body:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"

        status = None
        raw = b""
        last_err = None  # type: Optional[BaseException]
        attempts = len(self.retry_delays) + 1
        for attempt in range(attempts):
            if attempt > 0:
                time.sleep(self.retry_delays[attempt - 1])
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with _NO_PROXY_OPENER.open(req, timeout=self.timeout) as resp:
                    status = resp.status
                    raw = resp.read()
                last_err = None
                break
            except urllib.error.HTTPError as err:
                status = err.code
                try:
                    raw = err.read()
                except Exception:  # body unavailable: keep what we have
                    raw = b""
                finally:
                    err.close()
                last_err = None
                break
            except Exception as err:  # noqa: BLE001 - classified below
                if not _is_connection_error(err):
                    raise
                last_err = err
        if last_err is not None or status is None:
            raise CroniumError(
                "cannot reach the Cronium API at {}: {} ({} {})".format(base, _describe(last_err) if last_err else "no response", method, path),
                code="CONNECTION_FAILED",
            ) from last_err

        text = raw.decode("utf-8", errors="replace")
        if status < 200 or status >= 300:
            err = _api_error(status, text)
            if not_found_code is not None and status == 404 and err.code == not_found_code:
                return _NOT_FOUND
            raise err
        if text.strip() == "":
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise CroniumError("Cronium API returned invalid JSON (status {}, {} {})".format(status, method, path),
                               status=status, code="INVALID_RESPONSE") from None

    # -- API -----------------------------------------------------------------------------------

    def get_input(self) -> Any:
        """Input of the execution (``None`` if none)."""
        return _field(self._request("GET", "/runtime/v1/input"), "input")

    def set_output(self, value: Any = None) -> None:
        """Set the execution's output (any JSON-serialisable value)."""
        self._request("PUT", "/runtime/v1/output", {"value": value}, has_body=True)

    def get_variable(self, key: str) -> Any:
        """Value of a user variable, or ``None`` when it is not set."""
        data = self._request("GET", "/runtime/v1/variables/" + _quote("variable key", key),
                             not_found_code="VARIABLE_NOT_FOUND")
        return None if data is _NOT_FOUND else _field(data, "value")

    def set_variable(self, key: str, value: Any) -> None:
        """Set a user variable (any JSON-serialisable value)."""
        self._request("PUT", "/runtime/v1/variables/" + _quote("variable key", key), {"value": value}, has_body=True)

    def delete_variable(self, key: str) -> bool:
        """Delete a user variable; returns whether it existed."""
        data = self._request("DELETE", "/runtime/v1/variables/" + _quote("variable key", key))
        return _field(data, "deleted") is True

    def set_condition(self, condition: bool) -> None:
        """Set the execution's condition flag (must be a bool)."""
        if not isinstance(condition, bool):
            raise TypeError("cronium: set_condition expects a bool, got {}".format(type(condition).__name__))
        self._request("PUT", "/runtime/v1/condition", {"value": condition}, has_body=True)

    def get_secret(self, name: str) -> str:
        """Value of a secret granted to this execution."""
        path = "/runtime/v1/secrets/" + _quote("secret name", name)
        value = _field(self._request("GET", path), "value")
        if not isinstance(value, str):
            raise CroniumError("Cronium API returned a non-string secret value (GET {})".format(path),
                               status=200, code="INVALID_RESPONSE")
        return value

    def context(self) -> Dict[str, Any]:
        """Execution context: executionId, userId, language, deadline, attempt, event."""
        data = self._request("GET", "/runtime/v1/context")
        if not isinstance(data, dict):
            raise CroniumError("Cronium API returned an invalid context (GET /runtime/v1/context)",
                               status=200, code="INVALID_RESPONSE")
        return data

    def save_artifact(self, path: Any, name: Optional[str] = None) -> str:
        """Copy a regular file into the artifacts directory (see cronium.save_artifact); local, no API call."""
        from ._artifacts import save_artifact  # late: _artifacts imports this module

        return save_artifact(path, name)

    def event(self) -> Dict[str, Any]:
        """Legacy: ``{"id", "name", "type", "userId", "executionId"}`` (id/name/type are None without an event)."""
        ctx = self.context()
        ev = ctx.get("event") if isinstance(ctx.get("event"), dict) else {}
        return {
            "id": ev.get("id"),
            "name": ev.get("name"),
            "type": ev.get("type"),
            "userId": ctx.get("userId"),
            "executionId": ctx.get("executionId"),
        }

    # camelCase and legacy spellings
    getInput = get_input
    setOutput = set_output
    getVariable = get_variable
    setVariable = set_variable
    deleteVariable = delete_variable
    setCondition = set_condition
    getSecret = get_secret
    saveArtifact = save_artifact
    input = get_input
    output = set_output


class _NotFound:
    pass


_NOT_FOUND = _NotFound()


def _api_error(status: int, text: str) -> CroniumError:
    code = "HTTP_{}".format(status)
    message = text.strip()[:500] or http.client.responses.get(status, "request failed")
    field = None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    err = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(err, dict):
        if isinstance(err.get("code"), str):
            code = err["code"]
        if isinstance(err.get("message"), str):
            message = err["message"]
        if isinstance(err.get("field"), str):
            field = err["field"]
    return CroniumError("Cronium API error {} {}: {}".format(status, code, message),
                        status=status, code=code, field=field)
