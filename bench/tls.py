"""A throwaway certificate authority, so both servers post to the receiver over real HTTPS.

The servers trust it through SSL_CERT_FILE, the way a deployment trusts a corporate CA: no code
path of the bot or of Bolt is changed for the benchmark.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True, slots=True)
class LocalCA:
    ca_file: Path
    server_context: ssl.SSLContext


def make_local_ca(directory: Path) -> LocalCA:
    """A CA (its PEM written to `directory`) and a server context for 127.0.0.1 signed by it."""
    ca = trustme.CA()
    ca_file = directory / "bench-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return LocalCA(ca_file, context)
