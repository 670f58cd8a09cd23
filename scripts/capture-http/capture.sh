#!/usr/bin/env bash
# Captures real HTTP/1.1 traffic between curl and nginx on loopback with tcpdump, and builds the
# `http` model from it with `dust model build` (issue 6, "Built-in models from captured traffic";
# models/http.md says what the capture holds and what was done with it).
#
#   sudo scripts/capture-http/capture.sh [OUT_DIR]
#
# Needs root (a private network namespace) and the Debian packages nginx, tcpdump, curl, ethtool
# and iproute2 (.ci/install-deps installs them), plus node and this repository's npm packages
# (npm ci: esbuild bundles the CLI and finish-model.ts). Writes into OUT_DIR (default: a new
# temporary directory, printed at the end):
#   site/               the web site (scripts/capture-http/make-site.mjs; the same bytes every run)
#   http.pcap           the capture (tcpdump -i lo, TCP port 80 only); about 11 MB, not committed
#   http-requests.pcap  the client's side of it without its empty ACKs (SYNs and requests): small
#                       enough to commit (scripts/capture-http/http-requests.pcap), and all that
#                       `dust audit` looks at (test/http-model.test.ts compares Dust with it)
#   captured.json       the model exactly as `dust model build` wrote it
#   http.json           captured.json with the documented changes of finish-model.ts: this is
#                       what ships as models/http.json
#   versions.txt        the programs and versions used
#
# Everything runs inside `unshare --net`, a network namespace of its own: its loopback gets a
# 1500-byte MTU and segmentation offload switched off, so that tcpdump sees the 1,448-byte TCP
# segments an Ethernet path carries rather than loopback's 64 KiB super-segments, and nothing
# else on the machine (other tests, other servers) shows up in the capture or is disturbed by it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port=80
host=www.example.com

# The part that runs inside the namespace: `capture.sh --inside WORK_DIR`.
if [ "${1:-}" = "--inside" ]; then
  work="$2"
  ip link set lo up
  ip link set lo mtu 1500
  ethtool -K lo tso off gso off gro off >/dev/null
  nginx -c "$work/nginx.conf"
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/robots.txt" && break; sleep 0.1; done
  # -s 0: whole packets; -B: a 64 MiB buffer so that the kernel drops nothing; -Z root: write
  # the file as root (tcpdump would otherwise switch to its own user before opening it).
  tcpdump -i lo -n -s 0 -B 65536 -Z root -w "$work/http.pcap" "tcp port $port" 2>"$work/tcpdump.log" &
  tcpdump_pid=$!
  for _ in $(seq 50); do grep -q 'listening on' "$work/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  status=0
  bash "$here/traffic.sh" "http://$host" "$host:$port:127.0.0.1" || status=$?
  sleep 1
  kill -INT "$tcpdump_pid"
  wait "$tcpdump_pid" || true
  nginx -c "$work/nginx.conf" -s quit
  for _ in $(seq 50); do [ -e "$work/nginx.pid" ] || break; sleep 0.1; done
  cat "$work/tcpdump.log" >&2
  if ! grep -q '^0 packets dropped by kernel' "$work/tcpdump.log"; then
    echo "capture.sh: tcpdump dropped packets; run again on a quieter machine" >&2
    exit 1
  fi
  exit "$status"
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "capture.sh: run as root (sudo): it needs a network namespace, tcpdump and ethtool" >&2
  exit 1
fi
for cmd in unshare ip ethtool nginx tcpdump curl node; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "capture.sh: $cmd not found (bash .ci/install-deps installs the Debian packages)" >&2; exit 1; }
done

work="${1:-$(mktemp -d /tmp/dust-capture-http.XXXXXX)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
chmod 755 "$work"
rm -rf "$work/site" "$work/http.pcap" "$work"/nginx-*.log
node "$here/make-site.mjs" "$work/site" >"$work/site.txt"
chmod -R a+rX "$work/site"

# Debian's nginx.conf defaults (sendfile, tcp_nopush, gzip for HTML) plus what a typical site
# adds: gzip for CSS and JavaScript, 304 answers to If-Modified-Since, and a per-connection rate
# of 2 MB/s (about a 16 Mbit/s line) so that downloads take seconds, as off loopback.
cat >"$work/nginx.conf" <<EOF
user www-data;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log $work/nginx-access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  gzip on;
  gzip_types text/css application/javascript text/plain;
  if_modified_since before;
  limit_rate 2m;
  server {
    listen 127.0.0.1:$port;
    server_name $host;
    root $work/site;
  }
}
EOF

{
  echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "kernel: $(uname -sr)"
  . /etc/os-release && echo "system: $PRETTY_NAME"
  echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')"
  echo "curl: $(curl --version | head -n 1)"
  echo "tcpdump: $(tcpdump --version 2>&1 | head -n 1)"
  echo "libpcap: $(tcpdump --version 2>&1 | sed -n 2p)"
  echo "ethtool: $(ethtool --version)"
  echo "node: $(node --version)"
} >"$work/versions.txt"

echo "capture.sh: capturing into $work/http.pcap (about 50 s)" >&2
unshare --net -- bash "$0" --inside "$work"

# Client segments that open a connection or carry payload: the IP total length minus the IP and
# TCP header lengths is the payload length.
tcpdump -Z root -r "$work/http.pcap" -w "$work/http-requests.pcap" \
  "tcp dst port $port and (tcp[tcpflags] & tcp-syn != 0 or ip[2:2] - ((ip[0] & 0x0f) << 2) - ((tcp[12] & 0xf0) >> 2) > 0)" 2>/dev/null

cd "$repo"
[ -f dist/dust.cjs ] && [ -z "$(find src models -newer dist/dust.cjs -print -quit)" ] || npm run build --silent
node dist/dust.cjs model build "$work/http.pcap" --port "$port" --name http -o "$work/captured.json"
npx esbuild "$here/finish-model.ts" --bundle --platform=node --format=cjs --outfile="$work/finish-model.cjs" --log-level=warning
node "$work/finish-model.cjs" "$work/captured.json" "$work/http.pcap" "$port" "$work/versions.txt" "$work/http.json"
echo "capture.sh: done; the model is $work/http.json (cp it to models/http.json to ship it)"
