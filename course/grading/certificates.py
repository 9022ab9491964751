"""Certificates for grading on Dask over TLS: a course CA and, signed by it, one certificate each
for the scheduler, the workers and the client (the coordinator, `course.instructor.grade`, and the autograde
processes it starts), each in a folder of its own.

    course certificates DIR      # DIR/ca-key.pem, and DIR/<role>/ with ca.pem, <role>.pem, <role>-key.pem

Dask then encrypts every connection and both ends show a certificate the course CA signed: a
worker, client or scheduler without one cannot join, so nobody else can submit code to the
workers, hand back a made-up result or send the coordinator a pickle. Each certificate names its
role, and the scheduler and workers check it (course/grading/roles.py): a worker's certificate
cannot act as a client. Copy `worker/` to the grading machines and `scheduler/` to the
scheduler's; `client/` stays with the coordinator. Keep `ca-key.pem` (it signs new certificates)
off the cluster. The local cluster (no `--scheduler`) makes its own for each run.
"""

import argparse
import datetime
import os
import sys
from pathlib import Path

from course.grading.roles import OPTIONS, PREFIX

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
    _write_key(folder / "ca-key.pem", ca_key)
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = certificate(_name(f"{PREFIX}{role}"), key.public_key(), ca_name, ca_key, False)
        (folder / role).mkdir(mode=0o700)
        (folder / role / CA).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (folder / role / f"{role}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(folder / role / f"{role}-key.pem", key)


def _files(folder: Path, role: str) -> dict:
    """{"ca", "cert", "key": path} of `role` in `folder`: the role's own folder, or the folder of
    all roles `course certificates` wrote (or, before each role had its own, the flat folder)."""
    if (folder / role).is_dir():
        folder = folder / role
    return {"ca": folder / CA, "cert": folder / f"{role}.pem", "key": folder / f"{role}-key.pem"}


def missing(folder: Path, roles=("client",)) -> list:
    """The files of `roles` (and the CA) that `folder` lacks."""
    paths = {path for role in roles for path in _files(folder, role).values()}
    return sorted(str(path.relative_to(folder)) for path in paths if not path.is_file())


def security(folder: Path, roles=("client",)):
    """Dask's Security for these roles, with the certificates in `folder`: TLS required."""
    from distributed.security import Security

    files = {f"tls_{role}_{kind}": str(_files(folder, role)[kind]) for role in roles for kind in ("cert", "key")}
    return Security(tls_ca_file=str(_files(folder, roles[0])["ca"]), require_encryption=True, **files)


def dask_options(folder: Path, role: str) -> list:
    """The options of `dask scheduler` or `dask worker` that make it use its certificate (in
    `folder`) and check the role of each peer's."""
    files = _files(folder, role)
    return ["--tls-ca-file", str(files["ca"]), "--tls-cert", str(files["cert"]), "--tls-key", str(files["key"]),
            *OPTIONS[role]]


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
    print(f"Certificates in {folder}, one folder per role; keep ca-key.pem here. Copy {folder / 'scheduler'} to "
          "the scheduler's machine and run there (its dashboard on that machine only):\n"
          "    dask scheduler --protocol tls --dashboard-address 127.0.0.1:8787 "
          f"{' '.join(dask_options(Path('scheduler'), 'scheduler'))}\n"
          f"copy {folder / 'worker'} to each grading machine (the course's environment, bubblewrap, the dataset) "
          "and run there:\n"
          f"    dask worker tls://HEAD:8786 --nthreads 1 {' '.join(dask_options(Path('worker'), 'worker'))}\n"
          "and here:\n"
          f"    course grade --scheduler tls://HEAD:8786 --certificates {folder / 'client'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
