"""Certificates for grading on Dask over TLS: a course CA and, signed by it, one certificate each
for the scheduler, the workers and the client (the coordinator, `course.instructor.grade`, and the autograde
processes it starts).

    course certificates DIR      # DIR/ca.pem and <role>.pem, <role>-key.pem for each role

Dask then encrypts every connection and both ends show a certificate the course CA signed: a
worker, client or scheduler without one cannot join, so nobody else can submit code to the
workers, hand back a made-up result or send the coordinator a pickle. Copy `ca.pem` and the
worker's pair to the grading machines, the scheduler's pair to the scheduler's; `client.pem` and
`client-key.pem` stay with the coordinator. Keep `ca-key.pem` (it signs new certificates) off the
cluster. The local cluster (no `--scheduler`) makes its own for each run.
"""

import argparse
import datetime
import os
import sys
from pathlib import Path

ROLES = ("scheduler", "worker", "client")
CA = "ca.pem"


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "keras-course"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key) -> None:
    from cryptography.hazmat.primitives import serialization

    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def make_certificates(folder: Path, days: int = 365) -> None:
    """A CA and a certificate signed by it for each role, in `folder` (keys readable by the owner only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)

    def certificate(subject, public_key, issuer, signing_key, is_ca):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
        return builder.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("keras-course grading CA")
    ca = certificate(ca_name, ca_key.public_key(), ca_name, ca_key, True)
    (folder / CA).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(folder / "ca-key.pem", ca_key)
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = certificate(_name(f"keras-course {role}"), key.public_key(), ca_name, ca_key, False)
        (folder / f"{role}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(folder / f"{role}-key.pem", key)


def missing(folder: Path, roles=("client",)) -> list:
    """The files of `roles` (and the CA) that `folder` lacks."""
    names = [CA] + [f"{role}{suffix}.pem" for role in roles for suffix in ("", "-key")]
    return [name for name in names if not (folder / name).is_file()]


def security(folder: Path, roles=("client",)):
    """Dask's Security for these roles, with the certificates in `folder`: TLS required."""
    from distributed.security import Security

    files = {f"tls_{role}_{kind}": str(folder / f"{role}{suffix}.pem")
             for role in roles for kind, suffix in (("cert", ""), ("key", "-key"))}
    return Security(tls_ca_file=str(folder / CA), require_encryption=True, **files)


def dask_options(folder: Path, role: str) -> list:
    """The options of `dask scheduler` or `dask worker` that make it use its certificate."""
    return ["--tls-ca-file", str(folder / CA), "--tls-cert", str(folder / f"{role}.pem"),
            "--tls-key", str(folder / f"{role}-key.pem")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="where to write them (a new folder)")
    parser.add_argument("--days", type=int, default=365, help="how long they are valid (365)")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if folder.exists() and any(folder.iterdir()):
        print(f"{folder} is not empty: give a new folder (certificates already there stay as they are).",
              file=sys.stderr)
        return 1
    make_certificates(folder, args.days)
    print(f"Certificates in {folder}. On the scheduler's machine:\n"
          f"    dask scheduler --protocol tls {' '.join(dask_options(folder, 'scheduler'))}\n"
          "on each grading machine (the course's environment, bubblewrap, the dataset):\n"
          f"    dask worker tls://HEAD:8786 --nthreads 1 {' '.join(dask_options(folder, 'worker'))}\n"
          "and here:\n"
          f"    course grade --scheduler tls://HEAD:8786 --certificates {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
