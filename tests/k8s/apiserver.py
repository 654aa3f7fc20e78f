"""Run a real ``etcd`` + ``kube-apiserver`` pair on loopback for tests.

The binaries come from (first match wins):

1. ``TEST_ASSET_KUBE_APISERVER`` / ``TEST_ASSET_ETCD`` (paths to the binaries),
2. ``KUBEBUILDER_ASSETS`` (a directory holding both, as controller-runtime's envtest uses),
3. ``LEGATION_K8S_ASSETS`` or ``~/.cache/legation/k8s-assets``, where ``hack/k8s-assets.sh``
   builds them from Go modules.

Only a control plane runs: no controller manager, scheduler or kubelet. So objects that
controllers would act on stay as written (a deleted namespace stays ``Terminating``; pods stay
``Pending``; Services get a ClusterIP from ``10.0.0.0/24`` but no traffic goes anywhere). Use a
fresh namespace per test instead of deleting namespaces. The ``ServiceAccount`` admission plugin
is disabled (nothing creates the ``default`` service account), as in envtest.

Forcing ``410 Gone`` (expired resource versions) needs ``watch_cache=False``: with the watch
cache on (the apiserver default), a watch or an exact-version list at a compacted
``resourceVersion`` that is still inside the cache's window is served from the cache (measured
with v1.34.4: events replayed, list 200), so compaction alone decides nothing. With
``watch_cache=False`` every such request reaches etcd, and then either

* call :meth:`KubeApiServer.compact_etcd` (compacts etcd at once through etcd's JSON gRPC
  gateway; the next watch from an older version gets an ``ERROR`` event with code 410
  ``Expired``, an exact list gets HTTP 410), or
* pass a short ``etcd_compaction_interval`` (the apiserver's own compactor compacts to the
  revision it saw one interval earlier: with ``"2s"`` the first 410 came after about 4 s).

Example::

    with KubeApiServer(users={"reader": []}) as api:
        r = httpx.get(f"{api.url}/api/v1/namespaces", headers=api.auth_headers(), verify=False)
        api.write_kubeconfig(tmp_path / "kubeconfig")
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from legation.child_process import stop_child

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS_SCRIPT = REPO_ROOT / "hack" / "k8s-assets.sh"

ADMIN_USER = "legation-admin"
"""User name of the admin token; it is in group ``system:masters`` (all rights)."""


class KubeApiServerError(RuntimeError):
    """The binaries are missing, or etcd / kube-apiserver did not come up."""


@dataclass(frozen=True)
class KubeAssets:
    """Paths of the two binaries."""

    kube_apiserver: Path
    etcd: Path


def default_assets_dir() -> Path:
    """Where ``hack/k8s-assets.sh`` puts the binaries (``LEGATION_K8S_ASSETS`` or the cache)."""
    env = os.environ.get("LEGATION_K8S_ASSETS")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "legation" / "k8s-assets"


def find_assets() -> KubeAssets | None:
    """Locate ``kube-apiserver`` and ``etcd``; ``None`` when either is missing.

    Environment variables win over the cache directory, separately for each binary.
    """
    kubebuilder = os.environ.get("KUBEBUILDER_ASSETS")
    found: list[Path] = []
    for name, env in (("kube-apiserver", "TEST_ASSET_KUBE_APISERVER"), ("etcd", "TEST_ASSET_ETCD")):
        if os.environ.get(env):
            path = Path(os.environ[env])
        elif kubebuilder:
            path = Path(kubebuilder) / name
        else:
            path = default_assets_dir() / name
        if not (path.is_file() and os.access(path, os.X_OK)):
            return None
        found.append(path)
    return KubeAssets(kube_apiserver=found[0], etcd=found[1])


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    """Last ``lines`` lines of a log file (empty if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def generate_service_account_keys(private_key: Path, public_key: Path) -> None:
    """Write an RSA-2048 key pair (PEM) for signing and verifying service-account tokens.

    Uses ``cryptography`` when it is installed, else the ``openssl`` command.
    """
    try:
        from cryptography.hazmat.primitives import (  # type: ignore[import-not-found,unused-ignore]
            serialization,
        )
        from cryptography.hazmat.primitives.asymmetric import (  # type: ignore[import-not-found,unused-ignore]
            rsa,
        )
    except ImportError:
        _openssl_key_pair(private_key, public_key)
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_key.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _openssl_key_pair(private_key: Path, public_key: Path) -> None:
    """The ``openssl`` command's version of :func:`generate_service_account_keys`."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise KubeApiServerError(
            "need either the 'cryptography' package or the 'openssl' command "
            "to make the service-account key pair"
        )
    for cmd in (
        [openssl, "genrsa", "-out", str(private_key), "2048"],
        [openssl, "rsa", "-in", str(private_key), "-pubout", "-out", str(public_key)],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise KubeApiServerError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")


class KubeApiServer:
    """etcd and kube-apiserver on free loopback ports, each run in a fresh temporary directory.

    Use as a context manager (or call :meth:`start` / :meth:`stop`). After start:
    ``url`` (``https://127.0.0.1:PORT``), ``admin_token`` (group ``system:masters``),
    ``token_for(user)`` for the extra ``users``, ``ca_file`` (the apiserver's self-signed CA),
    ``etcd_url``, and :meth:`write_kubeconfig`.
    """

    def __init__(
        self,
        *,
        assets: KubeAssets | None = None,
        users: Mapping[str, Sequence[str]] | None = None,
        etcd_compaction_interval: str = "5m",
        watch_cache: bool = True,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 90.0,
        keep_dir: bool | None = None,
    ) -> None:
        """Configure (nothing starts until :meth:`start`).

        Args:
            assets: binaries to run; default :func:`find_assets`.
            users: extra token users, name -> groups. They get no RBAC rights unless a test
                grants them (or lists a group such as ``system:masters``).
            etcd_compaction_interval: kube-apiserver ``--etcd-compaction-interval``
                (Go duration such as ``"5m"`` or ``"2s"``; ``"0"`` turns the compactor off).
            watch_cache: kube-apiserver ``--watch-cache``; ``False`` for tests of ``410 Gone``
                after compaction (see the module docstring).
            extra_args: more kube-apiserver flags (appended last, so they win).
            startup_timeout: seconds to wait for etcd health and then for ``/readyz``.
            keep_dir: keep the temporary directory (logs, data) after :meth:`stop`; default
                from the environment variable ``LEGATION_K8S_KEEP``.
        """
        self._assets = assets
        self.users: dict[str, list[str]] = {u: list(g) for u, g in (users or {}).items()}
        if ADMIN_USER in self.users:
            raise ValueError(f"user name {ADMIN_USER!r} is reserved for the admin token")
        self.etcd_compaction_interval = etcd_compaction_interval
        self.watch_cache = watch_cache
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.keep_dir = bool(os.environ.get("LEGATION_K8S_KEEP")) if keep_dir is None else keep_dir

        self.admin_token = secrets.token_hex(24)
        self.tokens: dict[str, str] = {u: secrets.token_hex(24) for u in self.users}
        self.workdir: Path | None = None
        self.port = 0
        self.etcd_port = 0
        self._etcd: subprocess.Popen[bytes] | None = None
        self._apiserver: subprocess.Popen[bytes] | None = None
        self._atexit_registered = False

    # --- public -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the apiserver, e.g. ``https://127.0.0.1:43121``."""
        self._require_started()
        return f"https://127.0.0.1:{self.port}"

    @property
    def etcd_url(self) -> str:
        """Client URL of etcd (plain HTTP on loopback)."""
        self._require_started()
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def ca_file(self) -> Path:
        """PEM bundle that verifies the apiserver's self-signed serving certificate."""
        self._require_started()
        assert self.workdir is not None
        return self.workdir / "certs" / "apiserver.crt"

    def token_for(self, user: str) -> str:
        """Bearer token of ``user`` (one of ``users``, or :data:`ADMIN_USER`)."""
        if user == ADMIN_USER:
            return self.admin_token
        return self.tokens[user]

    def auth_headers(self, token: str | None = None) -> dict[str, str]:
        """``Authorization`` header for ``token`` (default: the admin token)."""
        return {"Authorization": f"Bearer {token or self.admin_token}"}

    def client(self, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
        """An ``httpx.Client`` on :attr:`url` with ``token`` (default admin), TLS unverified."""
        return httpx.Client(
            base_url=self.url, headers=self.auth_headers(token), verify=False, timeout=timeout
        )

    def write_kubeconfig(
        self,
        path: str | os.PathLike[str],
        token: str | None = None,
        *,
        insecure: bool = False,
        namespace: str | None = None,
    ) -> Path:
        """Write a kubeconfig for this apiserver; returns its path.

        Args:
            path: file to write (parents are created).
            token: bearer token; default the admin token.
            insecure: ``insecure-skip-tls-verify`` instead of embedding :attr:`ca_file`.
            namespace: default namespace of the context.
        """
        cluster: dict[str, object] = {"server": self.url}
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        else:
            cluster["certificate-authority-data"] = base64.b64encode(
                self.ca_file.read_bytes()
            ).decode()
        context: dict[str, object] = {"cluster": "legation-test", "user": "legation-test"}
        if namespace:
            context["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "legation-test", "cluster": cluster}],
            "users": [{"name": "legation-test", "user": {"token": token or self.admin_token}}],
            "contexts": [{"name": "legation-test", "context": context}],
            "current-context": "legation-test",
            "preferences": {},
        }
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        # JSON is YAML, and every kubeconfig loader reads it.
        out.write_text(json.dumps(config, indent=2) + "\n")
        out.chmod(0o600)
        return out

    def etcd_revision(self) -> int:
        """Current etcd revision (through etcd's JSON gRPC gateway)."""
        resp = httpx.post(f"{self.etcd_url}/v3/kv/range", json={"key": "AA==", "limit": 1})
        resp.raise_for_status()
        return int(resp.json()["header"]["revision"])

    def compact_etcd(self, revision: int | None = None) -> int:
        """Compact etcd's history up to ``revision`` (default: the current one); returns it.

        Afterwards, with ``watch_cache=False``, a watch from an older ``resourceVersion`` gets an
        ``ERROR`` event with code 410 (``Expired``) and an exact-version list gets HTTP 410. With
        the watch cache on, versions still inside the cache's window are served regardless.

        Mind the boundary: etcd keeps ``revision`` itself. A watch from ``resourceVersion`` R
        starts at R + 1; if exactly R + 1 survived (compacted at R + 1) but R did not, the
        apiserver answers an ``ERROR`` event with code **500** (``InternalError``: "etcd event
        received with PrevKv=nil"), not 410 — seen with v1.34.4. Write at least twice after R
        before compacting when a test wants a clean 410.
        """
        rev = self.etcd_revision() if revision is None else revision
        resp = httpx.post(
            f"{self.etcd_url}/v3/kv/compaction", json={"revision": str(rev), "physical": True}
        )
        resp.raise_for_status()
        return rev

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of both logs, for failure messages."""
        if self.workdir is None:
            return ""
        return (
            f"--- etcd.log ---\n{_tail(self.workdir / 'etcd.log', lines)}\n"
            f"--- kube-apiserver.log ---\n{_tail(self.workdir / 'kube-apiserver.log', lines)}"
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> KubeApiServer:
        """Start etcd, then kube-apiserver, and wait until ``/readyz`` says ok."""
        if self._apiserver is not None:
            return self
        assets = self._assets or find_assets()
        if assets is None:
            raise KubeApiServerError(
                "kube-apiserver/etcd not found: run hack/k8s-assets.sh, or set "
                "KUBEBUILDER_ASSETS / TEST_ASSET_KUBE_APISERVER / TEST_ASSET_ETCD"
            )
        self._assets = assets
        self.workdir = Path(tempfile.mkdtemp(prefix="legation-k8s-"))
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            self._start_etcd(assets.etcd)
            self._start_apiserver(assets.kube_apiserver)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop kube-apiserver, then etcd; remove the temporary directory (unless kept)."""
        for attr in ("_apiserver", "_etcd"):
            proc: subprocess.Popen[bytes] | None = getattr(self, attr)
            if proc is not None:
                _terminate(proc)
                setattr(self, attr, None)
        if self.workdir is not None and not self.keep_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> KubeApiServer:
        """Start (see :meth:`start`)."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop (see :meth:`stop`)."""
        self.stop()

    # --- internals ----------------------------------------------------------------------------
    def _require_started(self) -> None:
        if self.workdir is None or self.port == 0:
            raise KubeApiServerError("KubeApiServer is not started")

    def _spawn(self, argv: list[str], log_name: str) -> subprocess.Popen[bytes]:
        assert self.workdir is not None
        with open(self.workdir / log_name, "ab") as log:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # Ctrl-C in pytest reaches only pytest; stop() ends us
            )

    def _start_etcd(self, etcd: Path) -> None:
        assert self.workdir is not None
        for attempt in range(3):  # a free port can be taken between probing and binding
            self.etcd_port, peer_port = free_port(), free_port()
            peer = f"http://127.0.0.1:{peer_port}"
            client = f"http://127.0.0.1:{self.etcd_port}"
            data_dir = self.workdir / f"etcd-data-{attempt}"
            self._etcd = self._spawn(
                [
                    str(etcd),
                    "--name=legation-test",
                    f"--data-dir={data_dir}",
                    f"--listen-client-urls={client}",
                    f"--advertise-client-urls={client}",
                    f"--listen-peer-urls={peer}",
                    f"--initial-advertise-peer-urls={peer}",
                    f"--initial-cluster=legation-test={peer}",
                    "--initial-cluster-state=new",
                    "--unsafe-no-fsync",  # test data only: much faster on shared disks
                    "--log-level=warn",
                ],
                "etcd.log",
            )
            if self._wait(self._etcd_healthy, self._etcd):
                return
            _terminate(self._etcd)
            self._etcd = None
            if "address already in use" not in _tail(self.workdir / "etcd.log"):
                break
        raise KubeApiServerError(f"etcd did not become healthy\n{self.log_tail()}")

    def _etcd_healthy(self) -> bool:
        resp = httpx.get(f"http://127.0.0.1:{self.etcd_port}/health", timeout=2.0)
        return resp.status_code == 200 and resp.json().get("health") == "true"

    def _write_auth_files(self) -> tuple[Path, Path, Path]:
        assert self.workdir is not None
        sa_key, sa_pub = self.workdir / "sa.key", self.workdir / "sa.pub"
        if not sa_key.exists():
            generate_service_account_keys(sa_key, sa_pub)
        tokens = self.workdir / "tokens.csv"
        # token,user,uid,"group1,group2"
        rows = [f'{self.admin_token},{ADMIN_USER},{ADMIN_USER},"system:masters"']
        for user, groups in self.users.items():
            rows.append(f'{self.tokens[user]},{user},{user},"{",".join(groups)}"')
        tokens.write_text("\n".join(rows) + "\n")
        tokens.chmod(0o600)
        return sa_key, sa_pub, tokens

    def _start_apiserver(self, binary: Path) -> None:
        assert self.workdir is not None
        sa_key, sa_pub, tokens = self._write_auth_files()
        for _attempt in range(3):
            self.port = free_port()
            argv = [
                str(binary),
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                f"--etcd-compaction-interval={self.etcd_compaction_interval}",
                f"--watch-cache={str(self.watch_cache).lower()}",
                f"--cert-dir={self.workdir / 'certs'}",
                f"--secure-port={self.port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                f"--token-auth-file={tokens}",
                "--anonymous-auth=false",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                # No token controller creates the `default` service account of a namespace.
                "--disable-admission-plugins=ServiceAccount",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
                *self.extra_args,
            ]
            self._apiserver = self._spawn(argv, "kube-apiserver.log")
            if self._wait(self._apiserver_ready, self._apiserver):
                return
            _terminate(self._apiserver)
            self._apiserver = None
            if "address already in use" not in _tail(self.workdir / "kube-apiserver.log"):
                break
        self.port = 0
        raise KubeApiServerError(f"kube-apiserver did not become ready\n{self.log_tail()}")

    def _apiserver_ready(self) -> bool:
        resp = httpx.get(
            f"https://127.0.0.1:{self.port}/readyz",
            headers=self.auth_headers(),
            verify=False,
            timeout=5.0,
        )
        return resp.status_code == 200 and resp.text.strip() == "ok"

    def _wait(self, check: Callable[[], bool], proc: subprocess.Popen[bytes]) -> bool:
        """Poll ``check()`` until true (return True) or ``proc`` exits / time runs out."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                if check():
                    return True
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        return False


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 seconds."""
    stop_child(proc, 15.0)
