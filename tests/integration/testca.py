"""A certificate authority for tests (DANE-TA, MTA-STS): a CA in a
directory and certificates it signs, valid now or expired, made with the
openssl command; use_cert() points a server's [tls] at other files."""
import hashlib
import os
import re
import subprocess
import time


def openssl(*args, **kw):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, **kw)


def spki_sha256(cert):
    """The TLSA 1 1 data of a certificate: SHA-256 of its DER SPKI."""
    pem = openssl("x509", "-in", cert, "-pubkey", "-noout").stdout
    der = openssl("pkey", "-pubin", "-outform", "DER", input=pem).stdout
    return hashlib.sha256(der).hexdigest()


CA_CONF = """[ca]
default_ca = test
[test]
database = {d}/index.txt
new_certs_dir = {d}
serial = {d}/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
"""

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def asn1_time(t):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))


class TestCA:
    """The CA of directory d (made on first use there; .cert is its
    certificate, world-readable so the daemon's user can read it)."""
    __test__ = False        # not a pytest class

    def __init__(self, d):
        self.d = d
        self.key, self.cert = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
        self.conf = os.path.join(d, "ca.conf")
        if os.path.exists(self.cert):
            return
        openssl("req", "-x509", *EC, "-days", "2", "-subj", "/CN=mailkeep test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", self.key, "-out", self.cert)
        os.chmod(self.cert, 0o644)
        with open(self.conf, "w") as f:
            f.write(CA_CONF.format(d=d))
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("01\n")

    def issue(self, name, expired=False):
        """A certificate for DNS name `name` (valid now, or expired days
        ago): (chain file: leaf then CA, key, leaf certificate)."""
        d = self.d
        key, csr, leaf = (os.path.join(d, f"{name}.{x}") for x in ("key", "csr", "pem"))
        ext = os.path.join(d, f"{name}.ext")
        openssl("req", "-new", *EC, "-subj", f"/CN={name}", "-keyout", key, "-out", csr)
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n")
        now = time.time()
        start, end = (now - 3 * 86400, now - 2 * 86400) if expired else \
            (now - 3600, now + 86400)
        openssl("ca", "-batch", "-config", self.conf, "-cert", self.cert,
                "-keyfile", self.key, "-in", csr, "-out", leaf, "-notext",
                "-extfile", ext, "-startdate", asn1_time(start),
                "-enddate", asn1_time(end))
        chain = os.path.join(d, f"{name}.chain.pem")
        with open(chain, "w") as out:
            for p in (leaf, self.cert):
                with open(p) as f:
                    out.write(f.read())
        os.chmod(key, 0o600)
        os.chmod(chain, 0o644)
        return chain, key, leaf


def use_cert(srv, cert, key):
    """Point a (not yet started) server's [tls] at cert and key."""
    with open(srv.conf) as f:
        conf = f.read()
    conf = re.sub(r"(?m)^cert = .*$", f"cert = {cert}", conf, count=1)
    conf = re.sub(r"(?m)^key = .*$", f"key = {key}", conf, count=1)
    with open(srv.conf, "w") as f:
        f.write(conf)
