# Preflight: before anything is applied, check that the cluster has what this configuration
# relies on and fail the plan naming what to install. (The NFS export is checked by the pods'
# init containers, which can reach it; Terraform cannot.) Turn off with preflight = false,
# e.g. when the deploying identity may not list these kinds.

locals {
  use_ingress = var.ingress_host != "" && var.route_kind == "ingress"
  use_gateway = var.ingress_host != "" && var.route_kind == "gateway"

  check_ingress_class = var.preflight && local.use_ingress
  check_issuer        = var.preflight && local.use_ingress && var.cert_manager_cluster_issuer != ""
  check_gateway       = var.preflight && local.use_gateway
}

data "kubernetes_resources" "ingress_class" {
  count = local.check_ingress_class ? 1 : 0

  api_version    = "networking.k8s.io/v1"
  kind           = "IngressClass"
  field_selector = "metadata.name=${var.ingress_class_name}"
}

# A kind whose CRD is missing cannot be listed at all, so each CRD is looked up first.
data "kubernetes_resources" "crd" {
  for_each = toset(concat(
    local.check_issuer ? ["clusterissuers.cert-manager.io"] : [],
    local.check_gateway ? ["gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"] : [],
  ))

  api_version    = "apiextensions.k8s.io/v1"
  kind           = "CustomResourceDefinition"
  field_selector = "metadata.name=${each.key}"
}

locals {
  crd_present = { for name, found in data.kubernetes_resources.crd : name => length(found.objects) > 0 }
}

data "kubernetes_resources" "cluster_issuer" {
  count = local.check_issuer && lookup(local.crd_present, "clusterissuers.cert-manager.io", false) ? 1 : 0

  api_version    = "cert-manager.io/v1"
  kind           = "ClusterIssuer"
  field_selector = "metadata.name=${var.cert_manager_cluster_issuer}"
}

data "kubernetes_resources" "gateway" {
  count = local.check_gateway && lookup(local.crd_present, "gateways.gateway.networking.k8s.io", false) ? 1 : 0

  api_version    = "gateway.networking.k8s.io/v1"
  kind           = "Gateway"
  namespace      = var.gateway_namespace
  field_selector = "metadata.name=${var.gateway_name}"
}

resource "terraform_data" "preflight" {
  input = {
    ingress_class = local.check_ingress_class ? var.ingress_class_name : ""
    issuer        = local.check_issuer ? var.cert_manager_cluster_issuer : ""
    gateway       = local.check_gateway ? "${var.gateway_namespace}/${var.gateway_name}" : ""
  }

  lifecycle {
    precondition {
      condition     = !local.check_ingress_class || length(try(data.kubernetes_resources.ingress_class[0].objects, [])) > 0
      error_message = "The cluster has no IngressClass \"${var.ingress_class_name}\". Install ingress-nginx (helm upgrade --install ingress-nginx ingress-nginx --repo https://kubernetes.github.io/ingress-nginx --namespace ingress-nginx --create-namespace), set ingress_class_name to the class you have (kubectl get ingressclass), or use route_kind = \"gateway\"."
    }
    precondition {
      condition     = !local.check_issuer || lookup(local.crd_present, "clusterissuers.cert-manager.io", false)
      error_message = "cert-manager is not installed (no clusterissuers.cert-manager.io CRD). Install it (helm upgrade --install cert-manager cert-manager --repo https://charts.jetstack.io --namespace cert-manager --create-namespace --set crds.enabled=true) and create the ClusterIssuer \"${var.cert_manager_cluster_issuer}\", or set cert_manager_cluster_issuer = \"\" and provide ingress_tls_secret_name yourself."
    }
    precondition {
      condition     = !local.check_issuer || length(try(data.kubernetes_resources.cluster_issuer[0].objects, [])) > 0
      error_message = "cert-manager has no ClusterIssuer \"${var.cert_manager_cluster_issuer}\". Create it (e.g. an ACME issuer for Let's Encrypt with an http01 solver for your ingress class; kubectl get clusterissuer lists the ones you have) or change cert_manager_cluster_issuer."
    }
    precondition {
      condition     = !local.use_gateway || var.gateway_name != ""
      error_message = "route_kind = \"gateway\" needs gateway_name (and gateway_namespace): the Gateway the HTTPRoute attaches to."
    }
    precondition {
      condition     = !local.check_gateway || (lookup(local.crd_present, "gateways.gateway.networking.k8s.io", false) && lookup(local.crd_present, "httproutes.gateway.networking.k8s.io", false))
      error_message = "The Gateway API CRDs (gateway.networking.k8s.io/v1 Gateway, HTTPRoute) are not installed. Install them with your Gateway implementation (e.g. Envoy Gateway, Cilium, Istio, NGINX Gateway Fabric), or use route_kind = \"ingress\"."
    }
    precondition {
      condition     = !local.check_gateway || length(try(data.kubernetes_resources.gateway[0].objects, [])) > 0
      error_message = "There is no Gateway \"${var.gateway_name}\" in namespace \"${var.gateway_namespace}\" (kubectl get gateways -A lists them)."
    }
  }
}
