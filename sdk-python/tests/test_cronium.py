"""Tests of the Python SDK against an in-memory implementation of the runtime API.

Run from the repository root: python3 -m unittest discover -s sdk-python/tests -v
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

# Keep sdk-python/cronium/ free of __pycache__ (the directory is copied as is into the image).
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
SDK_DIR = os.path.dirname(HERE)
sys.path.insert(0, SDK_DIR)
sys.path.insert(0, HERE)

from fake_api import DEFAULT_CONTEXT, SECRET_VALUE, TOKEN, FakeApi, closed_port  # noqa: E402

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
_saved_env = {name: os.environ.get(name)
              for name in PROXY_VARS + ("NO_PROXY", "no_proxy", "CRONIUM_API_URL", "CRONIUM_TOKEN")}

# Every proxy variable points at a closed port, set BEFORE cronium is imported (an opener built at
# import time would capture them): urllib's default behaviour would use the proxy and fail.
_PROXY = "http://127.0.0.1:{}".format(closed_port())
for _name in PROXY_VARS:
    os.environ[_name] = _PROXY
os.environ.pop("NO_PROXY", None)
os.environ.pop("no_proxy", None)

import cronium  # noqa: E402
from cronium import CroniumError  # noqa: E402


def tearDownModule():
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class ApiTestCase(unittest.TestCase):
    api_options = {}

    def setUp(self):
        self.api = FakeApi(**self.api_options).start()
        self.addCleanup(self.api.close)
        os.environ["CRONIUM_API_URL"] = self.api.url
        os.environ["CRONIUM_TOKEN"] = TOKEN

    def assertCroniumError(self, fn, *args, status="unset", code=None, message=None):
        with self.assertRaises(CroniumError) as cm:
            fn(*args)
        err = cm.exception
        if status != "unset":
            self.assertEqual(err.status, status)
        if code is not None:
            self.assertEqual(err.code, code)
        if message is not None:
            self.assertEqual(str(err), message)
            self.assertEqual(err.message, message)
        return err


class TestApi(ApiTestCase):
    def test_get_input_request_and_value(self):
        self.assertEqual(cronium.get_input(), {"hello": "world", "n": 1})
        req = self.api.last
        self.assertEqual(req["method"], "GET")
        self.assertEqual(req["path"], "/runtime/v1/input")
        self.assertEqual(req["headers"]["authorization"], "Bearer " + TOKEN)
        self.assertNotIn("content-type", req["headers"])
        self.assertEqual(req["body_text"], "")

    def test_input_aliases_are_the_same_call(self):
        expected = cronium.get_input()
        self.assertEqual(cronium.getInput(), expected)
        self.assertEqual(cronium.input(), expected)
        self.assertIs(cronium.input, cronium.get_input)
        self.assertEqual(len(self.api.requests), 3)
        self.assertTrue(all(r["path"] == "/runtime/v1/input" and r["method"] == "GET" for r in self.api.requests))

    def test_get_input_none(self):
        self.api.input = None
        self.assertIsNone(cronium.get_input())

    def test_set_output_puts_value(self):
        value = {"rows": [1, 2, {"nested": True}], "text": 'h\u00e9llo "quoted"', "none": None}
        self.assertIsNone(cronium.set_output(value))
        self.assertEqual(self.api.output, value)
        req = self.api.last
        self.assertEqual(req["method"], "PUT")
        self.assertEqual(req["path"], "/runtime/v1/output")
        self.assertTrue(req["headers"]["content-type"].startswith("application/json"))
        self.assertEqual(req["headers"]["authorization"], "Bearer " + TOKEN)
        self.assertEqual(json.loads(req["body_text"]), {"value": value})

    def test_output_aliases(self):
        cronium.output(["legacy", 1])
        self.assertEqual(self.api.output, ["legacy", 1])
        self.assertEqual((self.api.last["method"], self.api.last["path"]), ("PUT", "/runtime/v1/output"))
        cronium.setOutput("camel")
        self.assertEqual(self.api.output, "camel")
        cronium.set_output(0)
        self.assertEqual(self.api.output, 0)
        cronium.set_output()
        self.assertIsNone(self.api.output)
        self.assertEqual(json.loads(self.api.last["body_text"]), {"value": None})
        self.assertEqual(self.api.output_writes, 4)

    def test_set_output_rejects_non_json(self):
        with self.assertRaises(TypeError):
            cronium.set_output({"x": object()})
        with self.assertRaises(ValueError):
            cronium.set_output(float("nan"))
        self.assertEqual(self.api.requests, [])

    def test_context(self):
        self.assertEqual(cronium.context(), DEFAULT_CONTEXT)
        self.assertEqual((self.api.last["method"], self.api.last["path"]), ("GET", "/runtime/v1/context"))

    def test_event_legacy_shape(self):
        self.assertEqual(cronium.event(), {
            "id": "evt-7", "name": "Nightly report", "type": "PYTHON",
            "userId": "user-42", "executionId": "exec-123",
        })
        self.assertEqual(self.api.last["path"], "/runtime/v1/context")
        self.api.context["event"] = None
        self.assertEqual(cronium.event(), {
            "id": None, "name": None, "type": None, "userId": "user-42", "executionId": "exec-123",
        })

    def test_get_variable_and_missing_is_none(self):
        self.assertEqual(cronium.get_variable("existing"), {"a": [1, 2, 3]})
        self.assertEqual((self.api.last["method"], self.api.last["path"]), ("GET", "/runtime/v1/variables/existing"))
        self.assertIsNone(cronium.get_variable("missing"))
        self.assertIsNone(cronium.getVariable("missing"))
        self.assertEqual(self.api.last["path"], "/runtime/v1/variables/missing")

    def test_variable_round_trip_with_encoded_keys(self):
        key = "odd key/with?&#%chars"
        encoded = "odd%20key%2Fwith%3F%26%23%25chars"
        cronium.set_variable(key, {"count": 3})
        req = self.api.last
        self.assertEqual((req["method"], req["path"]), ("PUT", "/runtime/v1/variables/" + encoded))
        self.assertEqual(json.loads(req["body_text"]), {"value": {"count": 3}})
        self.assertEqual(self.api.variables[key], {"count": 3})
        self.assertEqual(cronium.get_variable(key), {"count": 3})
        for falsy in (0, False, "", None, []):
            cronium.setVariable("falsy", falsy)
            got = cronium.get_variable("falsy")
            self.assertEqual(got, falsy)
            self.assertIs(type(got), type(falsy))
        self.assertIs(cronium.delete_variable(key), True)
        req = self.api.last
        self.assertEqual((req["method"], req["path"]), ("DELETE", "/runtime/v1/variables/" + encoded))
        self.assertNotIn("content-type", req["headers"])
        self.assertNotIn(key, self.api.variables)
        self.assertIs(cronium.deleteVariable(key), False)
        self.assertIsNone(cronium.get_variable(key))

    def test_invalid_keys_raise_type_error_without_request(self):
        with self.assertRaises(TypeError):
            cronium.get_variable("")
        with self.assertRaises(TypeError):
            cronium.set_variable(42, 1)
        with self.assertRaises(TypeError):
            cronium.get_secret(None)
        self.assertEqual(self.api.requests, [])

    def test_set_condition(self):
        cronium.set_condition(True)
        self.assertIs(self.api.condition, True)
        self.assertEqual((self.api.last["method"], self.api.last["path"]), ("PUT", "/runtime/v1/condition"))
        self.assertEqual(json.loads(self.api.last["body_text"]), {"value": True})
        cronium.setCondition(False)
        self.assertIs(self.api.condition, False)
        before = len(self.api.requests)
        for bad in ("true", 1, 0, None):
            with self.assertRaises(TypeError):
                cronium.set_condition(bad)
        self.assertEqual(len(self.api.requests), before)
        self.assertIs(self.api.condition, False)

    def test_get_secret(self):
        self.assertEqual(cronium.get_secret("API_KEY"), SECRET_VALUE)
        self.assertEqual(cronium.getSecret("API_KEY"), SECRET_VALUE)
        self.assertEqual((self.api.last["method"], self.api.last["path"]), ("GET", "/runtime/v1/secrets/API_KEY"))

    def test_secret_not_granted_is_typed_error(self):
        err = self.assertCroniumError(
            cronium.get_secret, "NOT_GRANTED", status=403, code="SECRET_NOT_GRANTED",
            message='Cronium API error 403 SECRET_NOT_GRANTED: secret "NOT_GRANTED" was not granted to this execution')
        self.assertIsInstance(err, Exception)
        self.assertEqual(len(self.api.requests), 1, "HTTP errors are not retried")

    def test_404_with_other_code_is_an_error(self):
        self.api.next_response = (404, json.dumps({"error": {"code": "NOT_FOUND", "message": "no route"}}),
                                  "application/json")
        self.assertCroniumError(cronium.get_variable, "existing", status=404, code="NOT_FOUND")

    def test_server_errors_are_typed_and_not_retried(self):
        self.api.next_response = (400, json.dumps({"error": {
            "code": "VALIDATION_ERROR", "message": "value is too large", "field": "value"}}), "application/json")
        err = self.assertCroniumError(cronium.set_output, "x", status=400, code="VALIDATION_ERROR",
                                      message="Cronium API error 400 VALIDATION_ERROR: value is too large")
        self.assertEqual(err.field, "value")
        self.api.next_response = (502, "Bad Gateway", "text/plain")
        err = self.assertCroniumError(cronium.get_input, status=502, code="HTTP_502")
        self.assertIn("Bad Gateway", str(err))
        self.assertEqual(len(self.api.requests), 2)

    def test_invalid_json_success_body(self):
        self.api.next_response = (200, "<html>proxy login</html>", "text/html")
        self.assertCroniumError(cronium.get_input, status=200, code="INVALID_RESPONSE")

    def test_wrong_token(self):
        os.environ["CRONIUM_TOKEN"] = "not-the-token"
        self.assertCroniumError(cronium.get_input, status=401, code="UNAUTHORIZED")
        self.assertEqual(self.api.last["headers"]["authorization"], "Bearer not-the-token")

    def test_not_inside_cronium(self):
        del os.environ["CRONIUM_API_URL"]
        self.assertCroniumError(cronium.get_input, status=None, code="NOT_IN_CRONIUM",
                                message="not running inside Cronium: CRONIUM_API_URL is not set")
        os.environ["CRONIUM_API_URL"] = self.api.url
        del os.environ["CRONIUM_TOKEN"]
        self.assertCroniumError(cronium.set_output, 1, code="NOT_IN_CRONIUM",
                                message="not running inside Cronium: CRONIUM_TOKEN is not set")
        self.assertEqual(self.api.requests, [])

    def test_trailing_slash(self):
        os.environ["CRONIUM_API_URL"] = self.api.url + "/"
        self.assertEqual(cronium.get_input(), {"hello": "world", "n": 1})
        self.assertEqual(self.api.last["path"], "/runtime/v1/input")
        os.environ["CRONIUM_API_URL"] = self.api.url + "//"
        cronium.set_condition(True)
        self.assertEqual(self.api.last["path"], "/runtime/v1/condition")

    def test_proxy_variables_are_ignored(self):
        self.assertTrue(os.environ["http_proxy"].startswith("http://127.0.0.1:"))
        cronium.set_variable("via", "direct")
        self.assertEqual(cronium.get_variable("via"), "direct")
        # origin-form request target: a proxied request would carry the absolute URL
        self.assertEqual(self.api.last["path"], "/runtime/v1/variables/via")
        # sanity check that the environment really is hostile: urllib's default opener fails
        import urllib.error
        import urllib.request
        with self.assertRaises((urllib.error.URLError, OSError)):
            urllib.request.urlopen(self.api.url + "/runtime/v1/input", timeout=5)

    def test_client_with_explicit_config(self):
        del os.environ["CRONIUM_API_URL"]
        del os.environ["CRONIUM_TOKEN"]
        client = cronium.Client(api_url=self.api.url, token=TOKEN)
        self.assertEqual(client.input(), client.get_input())
        client.output({"from": "client"})
        self.assertEqual(self.api.output, {"from": "client"})
        self.assertEqual(client.event()["executionId"], "exec-123")
        bad = cronium.Client(api_url=self.api.url, token="nope")
        self.assertCroniumError(bad.getInput, status=401, code="UNAUTHORIZED")

    def test_public_names(self):
        for name in ("get_input", "set_output", "get_variable", "set_variable", "delete_variable",
                     "set_condition", "get_secret", "context", "getInput", "setOutput", "getVariable",
                     "setVariable", "deleteVariable", "setCondition", "getSecret", "input", "output", "event"):
            self.assertTrue(callable(getattr(cronium, name)), name)
        self.assertIs(cronium.getInput, cronium.get_input)
        self.assertIs(cronium.output, cronium.set_output)
        self.assertTrue(issubclass(CroniumError, Exception))
        self.assertNotIn("input", cronium.__all__, "star-import must not shadow builtin input()")


class TestDroppedFirstConnection(ApiTestCase):
    api_options = {"drop_connections": 1}

    def test_get_is_retried(self):
        self.assertEqual(cronium.get_input(), {"hello": "world", "n": 1})
        self.assertEqual(self.api.connections, 2)
        self.assertEqual(len(self.api.requests), 1)


class TestDroppedTwoConnections(ApiTestCase):
    api_options = {"drop_connections": 2}

    def test_put_is_retried_and_written_once(self):
        cronium.set_output({"ok": 1})
        self.assertEqual(self.api.output, {"ok": 1})
        self.assertEqual(self.api.output_writes, 1)
        self.assertEqual(self.api.connections, 3)


class TestAllConnectionsDropped(ApiTestCase):
    api_options = {"drop_connections": 1000}

    def test_gives_up_after_four_attempts_with_backoff(self):
        started = time.monotonic()
        err = self.assertCroniumError(cronium.get_input, status=None, code="CONNECTION_FAILED")
        elapsed = time.monotonic() - started
        self.assertEqual(self.api.connections, 4)
        self.assertGreaterEqual(elapsed, 0.9, "backoff 0.1+0.25+0.6 s")
        self.assertLess(elapsed, 5)
        self.assertIn("cannot reach the Cronium API", str(err))


class TestConnectionRefused(unittest.TestCase):
    def test_refused_is_retried_then_connection_failed(self):
        os.environ["CRONIUM_API_URL"] = "http://127.0.0.1:{}".format(closed_port())
        os.environ["CRONIUM_TOKEN"] = TOKEN
        started = time.monotonic()
        with self.assertRaises(CroniumError) as cm:
            cronium.set_condition(True)
        self.assertEqual(cm.exception.code, "CONNECTION_FAILED")
        self.assertIsNone(cm.exception.status)
        self.assertGreaterEqual(time.monotonic() - started, 0.9)


class TestTimeout(ApiTestCase):
    api_options = {"hang": True}

    def test_timeout_is_retried(self):
        client = cronium.Client(api_url=self.api.url, token=TOKEN, timeout=0.2, retry_delays=(0.01, 0.01, 0.01))
        started = time.monotonic()
        with self.assertRaises(CroniumError) as cm:
            client.get_input()
        self.assertEqual(cm.exception.code, "CONNECTION_FAILED")
        self.assertIn("timed out", str(cm.exception))
        self.assertEqual(len(self.api.requests), 4)
        self.assertGreaterEqual(time.monotonic() - started, 0.8)


class TestInstalledCopy(ApiTestCase):
    """The package directory copied as is (as the runtime image does), used by a fresh interpreter."""

    def test_script_in_fresh_interpreter(self):
        site = tempfile.mkdtemp(prefix="cronium-dist-packages-")
        self.addCleanup(shutil.rmtree, site, True)
        shutil.copytree(os.path.join(SDK_DIR, "cronium"), os.path.join(site, "cronium"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        script = (
            "import cronium, json\n"
            "data = cronium.input()\n"
            "cronium.output({'got': data, 'event': cronium.event()['id']})\n"
            "try:\n"
            "    cronium.get_secret('NOT_GRANTED')\n"
            "except cronium.CroniumError as e:\n"
            "    print(json.dumps({'status': e.status, 'code': e.code}))\n"
        )
        env = {k: v for k, v in os.environ.items()}
        env["PYTHONPATH"] = site
        proc = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, %r)\n" % site + script],
                              env=env, capture_output=True, text=True, timeout=30, cwd=site)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout), {"status": 403, "code": "SECRET_NOT_GRANTED"})
        self.assertEqual(self.api.output, {"got": {"hello": "world", "n": 1}, "event": "evt-7"})


if __name__ == "__main__":
    unittest.main()
