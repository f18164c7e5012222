"""In-memory implementation of the Cronium runtime API contract (/runtime/v1/*) for the tests."""

import copy
import json
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "test.jwt.token"

DEFAULT_CONTEXT = {
    "executionId": "exec-123",
    "userId": "user-42",
    "language": "python",
    "deadline": "2030-01-01T00:00:00.000Z",
    "attempt": 2,
    "event": {"id": "evt-7", "name": "Nightly report", "type": "PYTHON"},
}

SECRET_VALUE = 's3cr3t value with "quotes" and spaces'


class FakeApi:
    """Start with FakeApi(drop_connections=0, hang=False).start(); stop with .close()."""

    def __init__(self, drop_connections=0, hang=False):
        self.input = {"hello": "world", "n": 1}
        self.context = copy.deepcopy(DEFAULT_CONTEXT)
        self.output = None
        self.output_writes = 0
        self.condition = None
        self.variables = {"existing": {"a": [1, 2, 3]}}
        self.secrets = {"API_KEY": SECRET_VALUE, "NOT_GRANTED": "never-returned"}
        self.granted = {"API_KEY"}
        self.next_response = None  # (status, body_text, content_type)
        self.requests = []
        self.connections = 0
        self._drop = drop_connections
        self._hang = hang
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self):
        api = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def verify_request(self, request, client_address):
                with api._lock:
                    api.connections += 1
                    drop = api.connections <= api._drop
                if drop:
                    try:
                        request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    except OSError:
                        pass
                    return False
                return True

        self._server = Server(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:{}".format(self.port)

    def close(self):
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def last(self):
        return self.requests[-1]


def closed_port():
    """A TCP port on 127.0.0.1 with nothing listening."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _make_handler(api):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def _send(self, status, obj=None, text=None, content_type="application/json"):
            body = (json.dumps(obj) if text is None else text).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def _error(self, status, code, message, field=None):
            err = {"code": code, "message": message}
            if field:
                err["field"] = field
            self._send(status, {"error": err})

        def do_GET(self):
            self._handle()

        def do_PUT(self):
            self._handle()

        def do_DELETE(self):
            self._handle()

        def do_POST(self):
            self._handle()

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body_text = self.rfile.read(length).decode("utf-8") if length else ""
            record = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_text": body_text,
                "body": None,
            }
            with api._lock:
                api.requests.append(record)
            if api._hang:
                api._release.wait(10)
                self.close_connection = True
                return
            if api.next_response is not None:
                status, text, ctype = api.next_response
                api.next_response = None
                return self._send(status, text=text, content_type=ctype)
            if self.headers.get("Authorization") != "Bearer " + TOKEN:
                return self._error(401, "UNAUTHORIZED", "missing or invalid runtime token")
            ctype = self.headers.get("Content-Type")
            if ctype is not None:
                if not ctype.startswith("application/json"):
                    return self._error(415, "UNSUPPORTED_MEDIA_TYPE", "unsupported content-type " + ctype)
                if body_text == "":
                    return self._error(400, "FST_ERR_CTP_EMPTY_JSON_BODY",
                                       "Body cannot be empty when content-type is set to 'application/json'")
                try:
                    record["body"] = json.loads(body_text)
                except ValueError:
                    return self._error(400, "INVALID_JSON", "request body is not valid JSON")
            elif body_text:
                return self._error(415, "UNSUPPORTED_MEDIA_TYPE", "body without content-type")

            path = self.path.split("?")[0]
            segments = path.split("/")[1:]
            if segments[:2] != ["runtime", "v1"] or len(segments) not in (3, 4):
                return self._error(404, "NOT_FOUND", "no route {} {}".format(self.command, path))
            resource = segments[2]
            key = urllib.parse.unquote(segments[3]) if len(segments) == 4 else None
            route = "{} {}{}".format(self.command, resource, "" if key is None else "/:key")
            body = record["body"]

            def need_value():
                if not isinstance(body, dict) or "value" not in body:
                    self._error(400, "VALIDATION_ERROR", "body must be an object with a value", "value")
                    return False
                return True

            if route == "GET input":
                return self._send(200, {"input": api.input})
            if route == "GET context":
                return self._send(200, api.context)
            if route == "PUT output":
                if need_value():
                    api.output = body["value"]
                    api.output_writes += 1
                    self._send(200, {"ok": True})
                return
            if route == "PUT condition":
                if need_value():
                    if not isinstance(body["value"], bool):
                        return self._error(400, "VALIDATION_ERROR", "value must be a boolean", "value")
                    api.condition = body["value"]
                    self._send(200, {"ok": True})
                return
            if route == "GET variables/:key":
                if key not in api.variables:
                    return self._error(404, "VARIABLE_NOT_FOUND", 'variable "{}" is not set'.format(key))
                return self._send(200, {"key": key, "value": api.variables[key]})
            if route == "PUT variables/:key":
                if need_value():
                    api.variables[key] = body["value"]
                    self._send(200, {"ok": True})
                return
            if route == "DELETE variables/:key":
                return self._send(200, {"deleted": api.variables.pop(key, _MISSING) is not _MISSING})
            if route == "GET secrets/:key":
                if key not in api.granted:
                    return self._error(403, "SECRET_NOT_GRANTED",
                                       'secret "{}" was not granted to this execution'.format(key))
                return self._send(200, {"name": key, "value": api.secrets[key]})
            return self._error(404, "NOT_FOUND", "no route {} {}".format(self.command, path))

    return Handler


_MISSING = object()
