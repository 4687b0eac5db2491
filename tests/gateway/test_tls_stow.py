"""TLS on the listener (a self-signed CA made here with `cryptography`: server and client
certificates), and STOW-RS to Orthanc's DICOMweb plugin, alone and with C-STORE."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pydicom
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pynetdicom import AE

from dicom_peers import (
    LOOPBACK,
    make_study_files,
    needs_dcmtk,
    needs_dicomweb,
    needs_orthanc,
    serve,
    start_orthanc,
    storescu,
    wait_for,
)

pytestmark = [needs_orthanc]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer: str, issuer_key, ca: bool = False, ip: str | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path, ca_name: str = "deid test CA") -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(ca_name, ca_key, ca_name, ca_key, ca=True)
    for who, ip in (("server", LOOPBACK), ("client", None)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(f"deid test {who}", key, ca_name, ca_key, ip=ip)
        out[f"{who}.crt"] = folder / f"{who}.crt"
        out[f"{who}.key"] = folder / f"{who}.key"
        out[f"{who}.crt"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[f"{who}.key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        out[f"{who}.key"].chmod(0o600)
    out["ca.crt"] = folder / "ca.crt"
    out["ca.crt"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return out


def _send(port: int, files: list[Path], ctx: ssl.SSLContext | None):
    ae = AE("MODALITY")
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.2", ["1.2.840.10008.1.2.1"])
    kw = {"tls_args": (ctx, LOOPBACK)} if ctx is not None else {}
    assoc = ae.associate(LOOPBACK, port, ae_title="DEID", **kw)
    if not assoc.is_established:
        return None
    try:
        return [assoc.send_c_store(pydicom.dcmread(f)).Status for f in files]
    finally:
        assoc.release()


def test_tls_listener_accepts_only_callers_with_a_certificate_from_its_ca(tmp_path):
    pki = make_pki(tmp_path / "pki")
    other = make_pki(tmp_path / "other", "someone else's CA")
    files = make_study_files(tmp_path / "in", 2, patients=1)
    o = start_orthanc(tmp_path / "orthanc", {"DEID": None})
    s = serve(
        tmp_path,
        "--forward", o.peer, "--pipeline", "dicom-basic",
        "--tls-cert", str(pki["server.crt"]), "--tls-key", str(pki["server.key"]), "--tls-ca", str(pki["ca.crt"]),
    )  # fmt: skip
    try:
        good = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki["ca.crt"]))
        good.load_cert_chain(str(pki["client.crt"]), str(pki["client.key"]))
        assert _send(s.port, files, good) == [0, 0]
        wait_for(lambda: len(o.instances()) == 2, what="2 instances over TLS")
        assert _send(s.port, files, None) is None  # plain DICOM on a TLS port: no association
        stranger = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki["ca.crt"]))
        stranger.load_cert_chain(str(other["client.crt"]), str(other["client.key"]))
        assert _send(s.port, files, stranger) is None  # a client certificate from another CA
        assert s.stop() == 0
        assert s.status()["received"] == 2
    finally:
        s.proc.kill()
        o.stop()


@needs_dicomweb
@needs_dcmtk
def test_stow_rs_to_orthanc_and_cstore_to_another_at_once(tmp_path):
    make_study_files(tmp_path / "in", 3, patients=1)
    web = start_orthanc(tmp_path / "web", {}, dicomweb=True)  # reached only by STOW-RS
    dicom = start_orthanc(tmp_path / "dicom", {"DEID": None})
    try:
        s = serve(tmp_path, "--stow", web.url + "/dicom-web", "--forward", dicom.peer, "--pipeline", "dicom-basic")
        storescu(s.port, tmp_path / "in")
        wait_for(lambda: s.status()["forwarded"] == 3, what="3 forwarded to both")
        assert s.stop() == 0
        assert len(web.instances()) == 3 and len(dicom.instances()) == 3
        assert sorted(web.sop_uids()) == sorted(dicom.sop_uids())  # the same de-identified instances
    finally:
        web.stop()
        dicom.stop()


def test_forwarding_over_tls_checks_the_destination_against_the_ca(tmp_path):
    """`--forward-tls-ca`: the C-STORE sink speaks TLS and trusts only a destination whose
    certificate the CA signed (and names the address it called); another CA's, or plain
    DICOM to a TLS port, is a destination that is down: nothing sent, nothing quarantined."""
    from pynetdicom import ALL_TRANSFER_SYNTAXES, evt

    from deid.engine.sinks import DestinationDown
    from deid.engine.sinks.cstore import ClientTLS, CStoreSink, Peer

    pki = make_pki(tmp_path / "pki")
    other = make_pki(tmp_path / "other", "someone else's CA")
    received: list[str] = []

    def store(event):
        received.append(str(event.request.AffectedSOPInstanceUID))
        return 0x0000

    ae = AE("DEST")
    ae.add_supported_context("1.2.840.10008.5.1.4.1.1.2", ALL_TRANSFER_SYNTAXES)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(pki["server.crt"]), str(pki["server.key"]))
    server = ae.start_server((LOOPBACK, 0), block=False, ssl_context=ctx, evt_handlers=[(evt.EVT_C_STORE, store)])
    peer = Peer("DEST", LOOPBACK, server.server_address[1])
    files = make_study_files(tmp_path / "in", 2, patients=1)
    try:
        for tls, works in ((ClientTLS(pki["ca.crt"]), True), (ClientTLS(other["ca.crt"]), False), (None, False)):
            sink = CStoreSink(peer, tmp_path / "q", tmp_path / "out", tls=tls, attempts=1, timeout=5)
            try:
                for f in files:
                    if works:
                        assert sink.put(f.name, f.read_bytes()) == str(peer)
                    else:
                        with pytest.raises(DestinationDown):
                            sink.put(f.name, f.read_bytes())
            finally:
                sink.close()
        assert received == [str(pydicom.dcmread(f).SOPInstanceUID) for f in files]  # the first sink's only
        assert not (tmp_path / "q").exists() or not any((tmp_path / "q").iterdir())
    finally:
        server.shutdown()
