#!/bin/sh
# make run: a demo instance on loopback, unprivileged ports, in ./data.
# Creates the config, a self-signed certificate and a demo account the first
# time, then runs `mailkeep serve` in the foreground (Ctrl-C stops it).
set -eu
bin=${1:-build/mailkeep}
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/data"
conf="$data/mailkeep.conf"
domain=demo.test
user="demo@$domain"
mkdir -p "$data/tls"
chmod 700 "$data/tls"

if [ ! -f "$conf" ]; then
	cat >"$conf" <<CONF
# mailkeep demo configuration (make run). Paths are relative to this file.
hostname = mail.$domain
domains  = $domain
data_dir = .
run_dir  = run

[tls]
cert = tls/cert.pem
key  = tls/key.pem

[listen]
smtp = 127.0.0.1:2525
CONF
fi
if [ ! -f "$data/tls/key.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -sha256 \
		-subj "/CN=mail.$domain" -addext "subjectAltName=DNS:mail.$domain" \
		-keyout "$data/tls/key.pem" -out "$data/tls/cert.pem" 2>/dev/null
	chmod 600 "$data/tls/key.pem"
fi
if ! "$bin" -c "$conf" user list 2>/dev/null | grep -q "$user"; then
	password=$(openssl rand -base64 12)
	printf '%s\n' "$password" | "$bin" -c "$conf" user add "$user"
	printf '%s\n' "$password" >"$data/demo-password"
	chmod 600 "$data/demo-password"
fi

cat <<INFO

mailkeep demo is starting on 127.0.0.1 (config: $conf)
  account:  $user   password: $(cat "$data/demo-password")
  SMTP:     127.0.0.1:2525 (STARTTLS with a self-signed certificate)

Send it a message from another terminal:
  swaks --server 127.0.0.1:2525 --to $user --from you@example.net --tls
or with Python:
  /usr/bin/python3 -c "import smtplib; s=smtplib.SMTP('127.0.0.1',2525); s.sendmail('you@example.net',['$user'],'Subject: hi\r\n\r\nhello\r\n')"

The message lands in $data/accounts/1/Maildir/new/ . Ctrl-C stops the server.

INFO
exec "$bin" -c "$conf" serve
