#!/usr/bin/env bash
# Checks a cluster before `kubectl apply -f infra/k8s/` and says what to install or edit.
# (The Terraform module runs the same cluster checks itself: infra/modules/pitwall/preflight.tf.)
#
#   infra/preflight.sh
#
# Environment: INGRESS_CLASS (nginx), CLUSTER_ISSUER (letsencrypt; empty: no cert-manager),
# NAMESPACE (pitwall). Exits 1 after listing every problem it found.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ingress_class="${INGRESS_CLASS-nginx}"
issuer="${CLUSTER_ISSUER-letsencrypt}"
ns="${NAMESPACE:-pitwall}"
problems=0

ok() { printf 'ok    %s\n' "$*"; }
problem() { printf 'FIX   %s\n' "$*" >&2; problems=$((problems + 1)); }

command -v kubectl >/dev/null || { echo "preflight: kubectl is not installed" >&2; exit 1; }
kubectl version --request-timeout=10s >/dev/null 2>&1 \
    || { echo "preflight: kubectl cannot reach the cluster (check KUBECONFIG / the context)" >&2; exit 1; }
ok "cluster reachable ($(kubectl config current-context 2>/dev/null || echo in-cluster))"

if [ -n "$ingress_class" ]; then
    if kubectl get ingressclass "$ingress_class" >/dev/null 2>&1; then
        ok "IngressClass $ingress_class"
    else
        problem "no IngressClass $ingress_class: install ingress-nginx (helm upgrade --install ingress-nginx ingress-nginx --repo https://kubernetes.github.io/ingress-nginx -n ingress-nginx --create-namespace) or set INGRESS_CLASS and ingressClassName in 50-ingress.yaml"
    fi
fi

if [ -n "$issuer" ]; then
    if ! kubectl get crd clusterissuers.cert-manager.io >/dev/null 2>&1; then
        problem "cert-manager is not installed: helm upgrade --install cert-manager cert-manager --repo https://charts.jetstack.io -n cert-manager --create-namespace --set crds.enabled=true"
    elif kubectl get clusterissuer "$issuer" >/dev/null 2>&1; then
        ok "cert-manager ClusterIssuer $issuer"
    else
        problem "no ClusterIssuer $issuer: create one (e.g. ACME/Let's Encrypt with an http01 solver for class $ingress_class); kubectl get clusterissuer lists what exists"
    fi
fi

# Placeholders still in the manifests.
for placeholder in nfs.example.internal registry.example.com pitwall.example.com; do
    if files="$(grep -l "$placeholder" "$here"/k8s/*.yaml 2>/dev/null)"; then
        problem "replace the placeholder $placeholder in: $(echo "$files" | tr '\n' ' ')"
    fi
done

if kubectl get namespace "$ns" >/dev/null 2>&1; then
    if kubectl -n "$ns" get secret pitwall >/dev/null 2>&1; then
        for key in viewer-token relay-key; do
            if [ -z "$(kubectl -n "$ns" get secret pitwall -o "jsonpath={.data.$key}")" ]; then
                problem "secret $ns/pitwall has no $key (see infra/k8s/extras/secret.example.yaml)"
            fi
        done
        ok "secret $ns/pitwall"
    else
        problem "no secret $ns/pitwall: kubectl -n $ns create secret generic pitwall --from-literal=viewer-token=\$(openssl rand -hex 24) --from-literal=relay-key=\$(openssl rand -hex 32)"
    fi
else
    problem "no namespace $ns yet: kubectl apply -f infra/k8s/00-namespace.yaml, then create the secret"
fi

if [ "$problems" -gt 0 ]; then
    echo "preflight: $problems problem(s) to fix before applying" >&2
    exit 1
fi
echo "preflight: ready to apply infra/k8s/"
