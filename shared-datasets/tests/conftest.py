import http.server
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Fuzz profiles (tests/test_fuzz.py): a small fixed-seed one inside the normal suite, and the
# long run of README's "Fuzzing" command (SHARED_DATASETS_HYPOTHESIS_PROFILE=sd-fuzz).
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile(
    "sd-quick",
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=_SLOW_OK,
    print_blob=True,
)
settings.register_profile(
    "sd-fuzz",
    max_examples=int(os.environ.get("SHARED_DATASETS_FUZZ_EXAMPLES", 10_000)),
    deadline=None,
    database=None,
    suppress_health_check=_SLOW_OK,
    print_blob=True,
)
settings.load_profile(os.environ.get("SHARED_DATASETS_HYPOTHESIS_PROFILE", "sd-quick"))

# `make test` exports SHARED_DATASETS_HOME=<workspace>/.data; running pytest by hand in a
# workspace checkout finds the same offline data without it.
_WORKSPACE_DATA = Path(__file__).resolve().parents[2] / ".data"
if not os.environ.get("SHARED_DATASETS_HOME") and _WORKSPACE_DATA.is_dir():
    os.environ["SHARED_DATASETS_HOME"] = str(_WORKSPACE_DATA)


# A local HTTP server on 127.0.0.1 for the download tests: files[path] = (bytes, mode),
# mode "ok" or "truncated" (announces twice the bytes it sends, then hangs up).
class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        entry = server.files.get(self.path)
        if entry is None:
            self.send_error(404, "Not Found")
            return
        body, mode = entry
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "truncated":
            # promise twice the bytes, send half, hang up
            self.send_header("Content-Length", str(2 * len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests = {}, []
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
