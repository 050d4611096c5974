#!/usr/bin/env bash
# Post-deploy smoke test of a pitwall deployment, from outside the cluster:
#   1. the rollout finished;
#   2. GET /healthz and /readyz answer 200 through the public URL (ingress/gateway, TLS, DNS);
#   3. a browser without the viewer token gets the sign-in page (200), a program 401 JSON;
#   4. the NFS data directory survives a pod restart: write a marker in /data, delete the pod,
#      read the marker from its replacement; the schedule snapshot is there too.
#
#   infra/smoke.sh https://f1.my-club.org/
#
# Needs kubectl (pointed at the cluster) and curl. Environment: SMOKE_NAMESPACE (pitwall),
# SMOKE_DEPLOYMENT (pitwall), SMOKE_TIMEOUT (300s), CURL_OPTS (extra curl flags,
# e.g. --insecure against a staging certificate).
set -euo pipefail

url="${1:?usage: infra/smoke.sh PUBLIC_URL}"
url="${url%/}"
ns="${SMOKE_NAMESPACE:-pitwall}"
deployment="${SMOKE_DEPLOYMENT:-pitwall}"
timeout="${SMOKE_TIMEOUT:-300s}"
read -r -a curl_opts <<<"${CURL_OPTS:-}"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

# http_status PATH [curl args...]: the status code; the body is left in $body_file.
body_file="$(mktemp)"
trap 'rm -f "$body_file"' EXIT
http_status() {
    local path="$1"
    shift
    curl -sS -o "$body_file" -w '%{http_code}' --max-time 10 "${curl_opts[@]}" "$@" "$url$path" || echo 000
}

# expect PATH STATUS [curl args...]: retries for up to a minute (DNS, certificates and the
# load balancer may lag behind the rollout).
expect() {
    local path="$1" want="$2" got=""
    shift 2
    for _ in $(seq 30); do
        got="$(http_status "$path" "$@")"
        [ "$got" = "$want" ] && return 0
        sleep 2
    done
    fail "GET $url$path answered $got, expected $want: $(head -c 300 "$body_file")"
}

step "rollout of deployment/$deployment in $ns"
kubectl -n "$ns" rollout status "deployment/$deployment" --timeout="$timeout" \
    || fail "the rollout did not finish; kubectl -n $ns describe pods; kubectl -n $ns logs deploy/$deployment -c check-storage"
selector="$(kubectl -n "$ns" get "deployment/$deployment" -o jsonpath='{.spec.selector.matchLabels}' \
    | tr -d '{}"' | tr ':' '=')"

step "probes through $url"
expect /healthz 200
grep -q '"ok"' "$body_file" || fail "/healthz body: $(cat "$body_file")"
expect /readyz 200

step "sign-in page for browsers, 401 JSON for programs"
expect / 200 -H 'Accept: text/html'
grep -q 'action="/sign-in"' "$body_file" || fail "GET / with Accept: text/html is not the sign-in page"
expect /schedule 401 -H 'Accept: application/json'
grep -q '"unauthorized"' "$body_file" || fail "GET /schedule without a token: $(cat "$body_file")"

step "NFS: write, restart the pod, read"
pod="$(kubectl -n "$ns" get pods -l "$selector" --field-selector=status.phase=Running -o name | head -n 1)"
[ -n "$pod" ] || fail "no running pod matches $selector"
marker="smoke-$(date +%s)-$RANDOM"
kubectl -n "$ns" exec "$pod" -c pitwall -- sh -c "echo $marker > /data/.smoke-marker" \
    || fail "cannot write /data in $pod"
kubectl -n "$ns" exec "$pod" -c pitwall -- sh -c 'ls /data/schedule/season-*.json' \
    || fail "no schedule snapshot in /data/schedule on $pod"
kubectl -n "$ns" delete "$pod" --wait=true
kubectl -n "$ns" rollout status "deployment/$deployment" --timeout="$timeout"
kubectl -n "$ns" wait --for=condition=Available "deployment/$deployment" --timeout="$timeout"
other="$(kubectl -n "$ns" get pods -l "$selector" --field-selector=status.phase=Running -o name \
    | grep -v "^$pod\$" | head -n 1)"
[ -n "$other" ] || fail "no running pod after deleting $pod"
got="$(kubectl -n "$ns" exec "$other" -c pitwall -- cat /data/.smoke-marker)" \
    || fail "the marker written before the restart is gone: /data is not on the NFS volume"
[ "$got" = "$marker" ] || fail "read '$got' from /data/.smoke-marker, wrote '$marker'"
kubectl -n "$ns" exec "$other" -c pitwall -- rm -f /data/.smoke-marker
expect /readyz 200

printf '\nsmoke: all checks passed for %s\n' "$url"
