"""PROXY protocol v1/v2 on the SMTP listeners (issue 5 item 4): only from
[proxy] trusted addresses (here 127.0.0.2, reached by binding the client
socket to it), required from them; the real client address then decides
logs and relay_networks. Everyone else speaks plain SMTP.
"""
import smtplib
import socket
import ssl
import struct
import time

import pytest

from conftest import free_port

PROXY_IP = "127.0.0.2"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst="192.0.2.250", sport=40000, dport=25):
    fam = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src=None, sport=40000, tlv=b""):
    if src is None:		# LOCAL
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    block = (socket.inet_aton(src) + socket.inet_aton("192.0.2.250") +
             struct.pack("!HH", sport, 25) + tlv)
    return V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(block)) + block


class ProxySMTP(smtplib.SMTP):
    header = b""

    def _get_socket(self, host, port, timeout):
        s = super()._get_socket(host, port, timeout)
        s.sendall(self.header)
        return s


def via_proxy(srv, header, port=None):
    ProxySMTP.header = header
    return ProxySMTP("127.0.0.1", port or srv.port, timeout=20,
                     source_address=(PROXY_IP, 0))


@pytest.fixture
def psrv(make_server):
    p465 = free_port()
    srv = make_server(extra=f"""[smtp]
relay_networks = 192.0.2.0/24

[listen]
submissions = 127.0.0.1:{p465}

[proxy]
trusted = {PROXY_IP}
""")
    srv.p465 = p465
    return srv


def relay_code(c):
    c.ehlo("client.example")
    c.mail("someone@example.com")
    code, _ = c.rcpt("carol@remote.test")
    c.quit()
    return code


def test_v1_real_client_decides_relay(psrv):
    assert relay_code(via_proxy(psrv, v1("192.0.2.55"))) == 250
    assert relay_code(via_proxy(psrv, v1("198.51.100.9"))) == 554
    log = psrv.log()
    assert f"event=proxy proxy={PROXY_IP} client=192.0.2.55 version=1" in log
    assert "event=connect client=192.0.2.55" in log
    assert "event=relay to=<carol@remote.test> client=192.0.2.55" in log
    assert "event=connect client=198.51.100.9" in log


def test_v1_ipv6(psrv):
    assert relay_code(via_proxy(psrv, v1("2001:db8::7", "2001:db8::1"))) == 554
    assert "event=connect client=2001:db8::7" in psrv.log()


def test_v2_with_tlv(psrv):
    tlv = b"\x04\x00\x03abc"	# PP2_TYPE_NOOP, skipped
    assert relay_code(via_proxy(psrv, v2("192.0.2.66", tlv=tlv))) == 250
    assert "event=proxy proxy=127.0.0.2 client=192.0.2.66 version=2" in psrv.log()


def test_v2_local_keeps_proxy_address(psrv):
    assert relay_code(via_proxy(psrv, v2(None))) == 554
    assert f"event=connect client={PROXY_IP}" in psrv.log()


def test_header_then_pipelined_smtp(psrv):
    """Bytes right behind the header belong to SMTP, not to the parser."""
    with socket.create_connection(("127.0.0.1", psrv.port), 10,
                                  source_address=(PROXY_IP, 0)) as s:
        s.sendall(v1("192.0.2.77") + b"EHLO a.example\r\nQUIT\r\n")
        data = b""
        while b"221" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"220 ") and b"250" in data and b"221" in data


def test_implicit_tls_after_header(psrv):
    class ProxySSL(smtplib.SMTP_SSL):
        def _get_socket(self, host, port, timeout):
            raw = socket.create_connection((host, port), timeout,
                                           source_address=(PROXY_IP, 0))
            raw.sendall(v2("192.0.2.88"))
            return self.context.wrap_socket(raw, server_hostname=host)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    c = ProxySSL("127.0.0.1", psrv.p465, timeout=20, context=ctx)
    code, ehlo = c.ehlo("client.example")
    assert code == 250 and b"AUTH" in ehlo
    c.quit()
    assert "event=connect client=192.0.2.88" in psrv.log()


def test_untrusted_proxy_line_is_a_bad_command(psrv):
    with socket.create_connection(("127.0.0.1", psrv.port), 10) as s:
        assert s.recv(512).startswith(b"220 ")
        s.sendall(v1("192.0.2.55"))
        assert s.recv(512).startswith(b"500 ")
    assert "proxy=127.0.0.1" not in psrv.log()


def closed_without_banner(psrv, payload):
    with socket.create_connection(("127.0.0.1", psrv.port), 10,
                                  source_address=(PROXY_IP, 0)) as s:
        s.settimeout(10)
        if payload:
            s.sendall(payload)
        data = b""
        try:
            while True:
                chunk = s.recv(512)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    return data


def test_trusted_garbage_closed(psrv):
    assert closed_without_banner(psrv, b"EHLO no.proxy.header\r\n") == b""
    assert closed_without_banner(psrv, b"PROXY TCP4 300.1.1.1 1.1.1.1 1 2\r\n") == b""
    log = psrv.log()
    assert 'event=proxy-refused proxy=127.0.0.2 service=smtp reason="no PROXY protocol header"' in log
    assert "bad address or port in PROXY v1 line" in log


def test_trusted_silent_times_out(psrv):
    t = time.time()
    assert closed_without_banner(psrv, b"") == b""
    assert 4 <= time.time() - t < 9
    assert 'reason="no PROXY header in time"' in psrv.log()
