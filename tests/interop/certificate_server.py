"""A cbm/1 server on a common TLS stack, written from spec/transport.md alone.

aioquic has no RFC 7250 raw public keys and ignores the certificate-type
extensions, as Go's crypto/tls does: a reference node that dials it with
raw public keys is refused, and must dial again in the certificate form
(§2.3.3). This server presents a certificate of the certificate form
(§2.3.2), requests the client's, checks it by rules 1-5, prints
`verified <transport key>` on stdout and exits.

aioquic cannot yet request a client certificate through its public API;
`tls.Context._request_client_certificate`, which its own tests use, does.

Exit status: 0 a client proved the expected key; 1 a client's certificate
was refused; 2 no client proved anything in time.
"""

import argparse
import asyncio
import sys

from aioquic import tls
from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import HandshakeCompleted
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography import x509

from certificate_client import bound_key, make_certificate

_init = tls.Context.__init__


def _requesting_client_certificates(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self._request_client_certificate = True


tls.Context.__init__ = _requesting_client_certificates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="the UDP port on 127.0.0.1 to listen on")
    parser.add_argument("--transport-seed", required=True, help="our transport key's 32-byte seed, hex")
    parser.add_argument("--client-key", required=True, help="the transport key the client must prove, hex")
    parser.add_argument("--agreement", required=True, help="the agreement hash, hex")
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()
    agreement = bytes.fromhex(args.agreement)
    transport = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(args.transport_seed))
    key, certificate = make_certificate(transport, agreement)
    configuration = QuicConfiguration(alpn_protocols=["cbm/1"], is_client=False)
    configuration.certificate = certificate
    configuration.private_key = key
    outcome: list[asyncio.Future] = []

    class Judging(QuicConnectionProtocol):
        def quic_event_received(self, event):
            if isinstance(event, HandshakeCompleted) and not outcome[0].done():
                peer = self._quic.tls._peer_certificate
                try:
                    if peer is None:
                        raise ValueError("the client presented no certificate")
                    proved = bound_key(peer, agreement)
                    if proved != bytes.fromhex(args.client_key):
                        raise ValueError(f"the client proved another key, {proved.hex()}")
                    outcome[0].set_result(proved)
                except (ValueError, InvalidSignature, x509.ExtensionNotFound) as e:
                    outcome[0].set_exception(e)

    async def run() -> int:
        outcome.append(asyncio.get_running_loop().create_future())
        server = await serve("127.0.0.1", args.port, configuration=configuration, create_protocol=Judging)
        print("listening", flush=True)
        try:
            proved = await asyncio.wait_for(outcome[0], args.timeout)
        except asyncio.TimeoutError:
            print("no client proved its key in time", file=sys.stderr)
            return 2
        except (ValueError, InvalidSignature, x509.ExtensionNotFound) as e:
            print(f"refused the client's certificate: {e!r}", file=sys.stderr)
            return 1
        finally:
            server.close()
        print(f"verified {proved.hex()}", flush=True)
        return 0

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
