#!/usr/bin/env bash
# The HTTP/1.1 traffic that capture.sh records: curl against the site of make-site.mjs, as a few
# visitors would make it. Fixed schedule (no randomness), about 50 seconds:
#   - page visits as a browser makes them: the HTML page, then its stylesheet, scripts and images
#     on the same keep-alive connection, with Firefox's request headers (User-Agent, Accept per
#     resource type, Accept-Language, Accept-Encoding, Referer), so nginx gzips HTML/CSS/JS;
#   - the same with the assets over up to 6 parallel connections (curl -Z, as browsers open them);
#   - a reader who follows links on one keep-alive connection, one page every few seconds;
#   - revisits that revalidate with If-Modified-Since (304 Not Modified), favicon.ico (404);
#   - file downloads with plain curl (its own User-Agent, no compression): text, three .tar.gz
#     files of 0.2 to 2.8 MB, one resumed with a Range request (206). No HEAD requests: they are rare as a connection's
#     first request, and one would cost the model its client prefix "GET /" (models/http.md).
#
#   bash traffic.sh BASE_URL RESOLVE      e.g. http://www.example.com www.example.com:80:127.0.0.1
set -euo pipefail
base="$1"
resolve="$2"

UA='Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0'
common=(--http1.1 -s -o /dev/null --resolve "$resolve" -A "$UA" -H 'Accept-Language: en-US,en;q=0.5'
  -H 'Accept-Encoding: gzip, deflate, br' -H 'DNT: 1')
accept_html='Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
accept_css='Accept: text/css,*/*;q=0.1'
accept_js='Accept: */*'
accept_img='Accept: image/avif,image/webp,*/*'

accept_for() {
  case "$1" in
    *.css) echo "$accept_css" ;;
    *.js) echo "$accept_js" ;;
    *) echo "$accept_img" ;;
  esac
}

# Appends one curl argument group per asset of PAGE to the array `args` (extra headers in `more`).
add_assets() {
  local page="$1" asset
  shift
  for asset in "$@"; do
    args+=(--next "${common[@]}" "${more[@]}" -H "$(accept_for "$asset")" -e "$base/$page" "$base/$asset")
  done
}

# visit PAGE ASSET...: the page and its assets, one after another on one keep-alive connection.
visit() {
  local page="$1" more=()
  shift
  local args=("${common[@]}" -H "$accept_html" "$base/$page")
  add_assets "$page" "$@"
  curl "${args[@]}"
}

# visit_parallel PAGE ASSET...: the page, then its assets over up to 6 connections at once.
visit_parallel() {
  local page="$1" more=()
  shift
  curl "${common[@]}" -H "$accept_html" "$base/$page"
  local args=(-Z --parallel-max 6 "${common[@]}" -H "$(accept_for "$1")" -e "$base/$page" "$base/$1")
  shift
  add_assets "$page" "$@"
  curl "${args[@]}"
}

# revisit PAGE ASSET...: a later visit: everything revalidated with If-Modified-Since (304).
revisit() {
  local page="$1" more=(-H "If-Modified-Since: $(date -u '+%a, %d %b %Y %H:%M:%S GMT')")
  shift
  local args=("${common[@]}" "${more[@]}" -H "$accept_html" "$base/$page")
  add_assets "$page" "$@"
  curl "${args[@]}"
}

plain=(--http1.1 -s -o /dev/null --resolve "$resolve")
css=static/site.css
js=(static/app.js static/vendor.js)

visit index.html "$css" "${js[@]}" img/logo.png img/icon-search.png img/thumb-1.png img/thumb-2.png img/photo-medium.png
curl "${common[@]}" -H "$accept_img" "$base/favicon.ico"
sleep 2.5
visit blog/post-2.html "$css" "${js[@]}" img/logo.png img/photo-small.png img/thumb-1.png
sleep 1.5
visit_parallel blog/post-7.html "$css" "${js[@]}" img/logo.png img/icon-search.png img/photo-large.png img/thumb-2.png
sleep 3
curl "${plain[@]}" "$base/robots.txt"
curl "${plain[@]}" "$base/downloads/notes.txt"
sleep 1
curl "${plain[@]}" "$base/downloads/archive-small.tar.gz"
sleep 2
revisit index.html "$css" "${js[@]}" img/logo.png img/icon-search.png
sleep 1
# A reader following links: one connection, a page (and nothing else: assets are cached) every 4 s.
curl --rate 15/m "${common[@]}" -H "$accept_html" -e "$base/index.html" "$base/blog/post-1.html" \
  -o /dev/null "$base/blog/post-3.html" -o /dev/null "$base/blog/post-4.html" -o /dev/null "$base/blog/post-5.html"
sleep 1
curl "${plain[@]}" "$base/downloads/archive-medium.tar.gz"
sleep 2
visit about.html "$css" "${js[@]}" img/logo.png img/photo-small.png
curl "${common[@]}" -H "$accept_img" "$base/favicon.ico"
sleep 1.5
visit_parallel blog/post-11.html static/print.css "$css" "${js[@]}" img/logo.png img/thumb-1.png img/thumb-2.png img/photo-medium.png
sleep 2
visit contact.html "$css" "${js[@]}" img/logo.png
sleep 1
curl "${plain[@]}" "$base/downloads/dataset.tar.gz"
sleep 1
curl "${plain[@]}" -r 1000000- "$base/downloads/dataset.tar.gz"
sleep 2
for n in 6 8 9 10 12; do
  visit "blog/post-$n.html" "$css" "${js[@]}" img/logo.png img/thumb-2.png
  sleep 0.7
done
revisit blog/post-2.html "$css" "${js[@]}" img/logo.png
curl "${plain[@]}" "$base/downloads/notes.txt"
sleep 1
visit_parallel index.html "$css" "${js[@]}" img/logo.png img/icon-search.png img/thumb-1.png img/thumb-2.png img/photo-medium.png
curl "${common[@]}" -H "$accept_img" "$base/favicon.ico"
sleep 1
curl --rate 20/m "${common[@]}" -H "$accept_html" -e "$base/index.html" "$base/blog/post-6.html" \
  -o /dev/null "$base/blog/post-7.html" -o /dev/null "$base/about.html"
