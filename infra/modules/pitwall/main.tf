# pitwall on Kubernetes: namespace, secret, configuration, and the shared pieces the other
# files use. See infra/README.md for the whole picture.

locals {
  # The container's paths and port; they match the image (infra/Dockerfile).
  port         = 8080
  config_dir   = "/etc/pitwall"
  config_file  = "pitwall.toml"
  plugins_path = "/plugins"
  data_path    = "/data"
  cache_path   = "/cache"
  uid          = 10001

  # Sleep before SIGTERM so endpoints and the ingress stop sending new requests first, then
  # the drain, then a margin: the termination grace period covers all three.
  pre_stop_sleep_seconds = 5
  termination_grace      = local.pre_stop_sleep_seconds + var.drain_timeout_seconds + 15

  common_labels = {
    "app.kubernetes.io/name"       = "pitwall"
    "app.kubernetes.io/instance"   = var.name
    "app.kubernetes.io/part-of"    = "pitwall"
    "app.kubernetes.io/managed-by" = "terraform"
  }
  server_selector = {
    "app.kubernetes.io/name"      = "pitwall"
    "app.kubernetes.io/instance"  = var.name
    "app.kubernetes.io/component" = "server"
  }
  redis_selector = {
    "app.kubernetes.io/name"      = "pitwall"
    "app.kubernetes.io/instance"  = var.name
    "app.kubernetes.io/component" = "redis"
  }

  namespace = var.create_namespace ? kubernetes_namespace_v1.this[0].metadata[0].name : var.namespace

  redis_url = (
    var.redis_enabled
    ? "redis://${var.name}-redis.${var.namespace}.svc:6379"
    : var.external_redis_url
  )

  relay_key = var.relay_key != "" ? var.relay_key : try(random_password.relay_key[0].result, "")

  # [schedule] season is a string ("current") or an integer year.
  season_toml = var.schedule_season == "current" ? "\"current\"" : var.schedule_season

  config_toml = <<-EOT
    # pitwall configuration, written by the Terraform module infra/modules/pitwall.
    [schedule]
    sources = ${jsonencode(var.schedule_sources)}
    refresh = ${jsonencode(var.schedule_refresh)}
    season = ${local.season_toml}

    [polling]
    window_before = ${jsonencode(var.polling_window_before)}
    window_after = ${jsonencode(var.polling_window_after)}

    [health]
    interval = ${jsonencode(var.health_interval)}
    fail_threshold = ${var.health_fail_threshold}

    ${var.sources_toml}
  EOT
}

resource "kubernetes_namespace_v1" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.namespace
    labels = local.common_labels
  }
}

resource "random_password" "relay_key" {
  count = var.relay_key == "" ? 1 : 0

  length  = 64
  special = false
}

# Tokens, the relay key and the Redis URL reach pitwall as PITWALL_* variables from here.
resource "kubernetes_secret_v1" "pitwall" {
  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = local.common_labels
  }

  type = "Opaque"
  data = merge(
    {
      "viewer-token" = var.viewer_token
      "relay-key"    = local.relay_key
    },
    var.admin_token != "" ? { "admin-token" = var.admin_token } : {},
    local.redis_url != "" ? { "redis-url" = local.redis_url } : {},
  )
}

resource "kubernetes_config_map_v1" "pitwall" {
  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = local.common_labels
  }

  data = {
    (local.config_file) = local.config_toml
  }
}
