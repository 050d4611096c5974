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

  # Layout of the NFS export (see storage.tf): plugins shared by every deployment that points
  # at it, data per deployment. The init step mounts the export's root at storage_mount.
  storage_mount   = "/storage"
  plugins_subpath = "plugins"
  data_subpath    = "data/${local.namespace}-${var.name}"

  # Runs as root in an init container: creates the directories and gives the data directory
  # to the container's user. A root-squashing export refuses this; the message says what to do.
  prepare_storage_script = <<-EOT
    set -eu
    cd ${local.storage_mount}
    if ! mkdir -p ${local.plugins_subpath} ${local.data_subpath}; then
      echo "pitwall: cannot create ${local.plugins_subpath}/ and ${local.data_subpath}/ on ${var.nfs_server}:${var.nfs_path}." >&2
      echo "The export probably squashes root. Either export it with no_root_squash, or create both" >&2
      echo "directories on the NFS server owned by ${local.uid}:${local.uid} and set nfs_init_ownership = false." >&2
      exit 1
    fi
    chown ${local.uid}:${local.uid} ${local.data_subpath}
    chmod 0750 ${local.data_subpath}
    # plugins/ is handed to the container user only when this step created it (seed Job);
    # an existing directory keeps the owner the operator gave it.
    [ -n "$(ls -A ${local.plugins_subpath})" ] || chown ${local.uid}:${local.uid} ${local.plugins_subpath}
    ls -ld ${local.plugins_subpath} ${local.data_subpath}
  EOT

  # Runs as the container's user before pitwall: fails the rollout at once, with a message,
  # when /data cannot be written (instead of a pod that serves but never persists).
  check_storage_script = <<-EOT
    probe="${local.data_path}/.write-check-$HOSTNAME"
    if ! { echo ok > "$probe" && rm -f "$probe"; }; then
      echo "pitwall: ${local.data_path} (${var.nfs_server}:${var.nfs_path}/${local.data_subpath}) is not writable by UID ${local.uid}." >&2
      echo "Give that directory to ${local.uid}:${local.uid} on the NFS server, or set nfs_init_ownership = true." >&2
      exit 1
    fi
    if ! [ -d ${local.plugins_path} ]; then
      echo "pitwall: ${local.plugins_path} (${local.plugins_subpath}/ on the export) is missing." >&2
      exit 1
    fi
  EOT

  # Pull secrets: the ones named, plus the one made from registry_credentials.
  image_pull_secrets = concat(
    var.image_pull_secrets,
    var.registry_credentials == null ? [] : [kubernetes_secret_v1.registry[0].metadata[0].name],
  )

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

# Registry credentials for pulling the image, when the module is given them.
resource "kubernetes_secret_v1" "registry" {
  count = var.registry_credentials == null ? 0 : 1

  metadata {
    name      = "${var.name}-registry"
    namespace = local.namespace
    labels    = local.common_labels
  }

  type = "kubernetes.io/dockerconfigjson"
  data = {
    ".dockerconfigjson" = jsonencode({
      auths = {
        (var.registry_credentials.server) = {
          username = var.registry_credentials.username
          password = var.registry_credentials.password
          auth     = base64encode("${var.registry_credentials.username}:${var.registry_credentials.password}")
        }
      }
    })
  }
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
