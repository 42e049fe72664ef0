"""A cbm/1 client on a common TLS stack, written from spec/transport.md alone.

Python's QUIC stack (aioquic, with `cryptography`) has no RFC 7250 raw
public keys, so this client proves its transport key in the certificate
form (transport.md §2.3.2): a self-signed certificate for a fresh Ed25519
key, bound by the transport key in a subjectAltName URI. It checks the
server's certificate by rules 1-5 of §2.3.2, sends one request frame (§3.1)
and prints the response's CBOR in hex on stdout.

Exit status: 0 answered; 1 the server's certificate was refused here;
2 the connection or the request failed (the server refused us, say).
"""

import argparse
import asyncio
import datetime
import ssl
import sys

import cbor2
from aioquic.asyncio import connect
from aioquic.quic.configuration import QuicConfiguration
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ObjectIdentifier

CONTEXT = b"cbm/1 tls certificate"
PREFIX = "cbm:tls:"
ED25519 = ObjectIdentifier("1.3.101.112")


def binding_message(agreement: bytes, spki: bytes) -> bytes:
    """The signing message of wire.md §5.1: key id 0, the SPKI as a bstr."""
    return CONTEXT + b"\x00" + agreement + (0).to_bytes(4, "big") + cbor2.dumps(spki)


def make_certificate(transport: Ed25519PrivateKey, agreement: bytes):
    """A fresh certificate key, and its certificate bound by `transport`."""
    key = Ed25519PrivateKey.generate()
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    signature = transport.sign(binding_message(agreement, spki))
    public = transport.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    uri = f"{PREFIX}{public.hex()}:{signature.hex()}"
    name = x509.Name([])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(1975, 1, 1, tzinfo=datetime.timezone.utc))
        .not_valid_after(datetime.datetime(4096, 1, 1, tzinfo=datetime.timezone.utc))
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False)
        .sign(key, None)
    )
    return key, certificate


def bound_key(certificate: x509.Certificate, agreement: bytes) -> bytes:
    """The transport key a peer's certificate proves (rules 1-5), or raises."""
    if certificate.version != x509.Version.v3:
        raise ValueError("not an X.509 version 3 certificate")
    if certificate.public_key_algorithm_oid != ED25519:
        raise ValueError("the certificate's key is not Ed25519")
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    uris = [u for u in names.get_values_for_type(x509.UniformResourceIdentifier) if u.startswith(PREFIX)]
    if len(uris) != 1:
        raise ValueError(f"{len(uris)} binding URIs")
    fields = uris[0][len(PREFIX):].split(":")
    if len(fields) != 2 or len(fields[0]) != 64 or len(fields[1]) != 128 or uris[0] != uris[0].lower():
        raise ValueError(f"malformed binding {uris[0]!r}")
    key, signature = bytes.fromhex(fields[0]), bytes.fromhex(fields[1])
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    Ed25519PublicKey.from_public_bytes(key).verify(signature, binding_message(agreement, spki))
    return key


async def ask(args) -> int:
    agreement = bytes.fromhex(args.agreement)
    transport = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(args.transport_seed))
    key, certificate = make_certificate(transport, bytes.fromhex(args.bind_agreement or args.agreement))
    configuration = QuicConfiguration(alpn_protocols=["cbm/1"], is_client=True, server_name="cbm")
    configuration.verify_mode = ssl.CERT_NONE
    configuration.certificate = certificate
    configuration.private_key = key
    host, port = args.address.rsplit(":", 1)
    try:
        async with connect(host, int(port), configuration=configuration, wait_connected=True) as client:
            peer = client._quic.tls._peer_certificate
            try:
                if bound_key(peer, agreement) != bytes.fromhex(args.server_key):
                    raise ValueError("the server proved another transport key")
            except (ValueError, InvalidSignature, x509.ExtensionNotFound) as e:
                print(f"refused the server's certificate: {e!r}", file=sys.stderr)
                return 1
            reader, writer = await client.create_stream()
            request = bytes.fromhex(args.request)
            writer.write(len(request).to_bytes(4, "big") + request)
            writer.write_eof()
            try:
                length = int.from_bytes(await asyncio.wait_for(reader.readexactly(4), 10), "big")
                response = await asyncio.wait_for(reader.readexactly(length), 10)
            except asyncio.IncompleteReadError:
                closed = client._quic._close_event
                if closed is None:
                    raise
                print(f"closed by the node: error code {closed.error_code:#x} {closed.reason_phrase}", file=sys.stderr)
                return 2
            print(response.hex())
            return 0
    except (ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        print(f"no answer: {e!r}", file=sys.stderr)
        return 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True, help="host:port of the node")
    parser.add_argument("--transport-seed", required=True, help="our transport key's 32-byte seed, hex")
    parser.add_argument("--server-key", required=True, help="the node's transport public key, hex")
    parser.add_argument("--agreement", required=True, help="the agreement hash, hex")
    parser.add_argument(
        "--bind-agreement", help="the agreement hash our binding is made for, if not --agreement (a test of refusal)"
    )
    parser.add_argument("--request", required=True, help="one request's canonical CBOR, hex")
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()
    try:
        return asyncio.run(asyncio.wait_for(ask(args), args.timeout))
    except asyncio.TimeoutError:
        print("timed out", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
