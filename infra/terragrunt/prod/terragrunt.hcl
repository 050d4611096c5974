# Production pitwall. Apply with:
#
#   cd infra/terragrunt/prod
#   export DEPLOY_IMAGE=<registry>/pitwall:<git sha>      # required
#   export DEPLOY_NFS_SERVER=<nfs host> DEPLOY_NFS_PATH=<export path> DEPLOY_HOST=<public name>
#   export TF_VAR_viewer_token=... TF_VAR_admin_token=... TF_VAR_relay_key=...
#   terragrunt apply
#
# DEPLOY_IMAGE, DEPLOY_NFS_SERVER, DEPLOY_NFS_PATH and DEPLOY_HOST have no defaults: Terragrunt
# stops before planning, naming the one that is missing. Optional: DEPLOY_CLUSTER_ISSUER
# (cert-manager ClusterIssuer, default letsencrypt; empty: no cert-manager), DEPLOY_INGRESS_CLASS
# (default nginx), DEPLOY_ROUTE_KIND (ingress or gateway) with DEPLOY_GATEWAY_NAME and
# DEPLOY_GATEWAY_NAMESPACE, DEPLOY_IMAGE_PULL_SECRET (an existing pull Secret's name).
# The provider versions are locked in .terraform.lock.hcl beside this file.
#
# Secrets never go in this file: the module reads viewer_token, admin_token and relay_key
# from TF_VAR_* variables (set by CI from its secrets). relay_key may be left unset: the
# module then generates one and keeps it in the state.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  source = "../../modules/pitwall"
}

inputs = {
  name      = "pitwall"
  namespace = "pitwall"
  image     = get_env("DEPLOY_IMAGE")
  replicas  = 2

  image_pull_secrets = compact([get_env("DEPLOY_IMAGE_PULL_SECRET", "")])

  # The export holds plugins/ (shared, read-only in the pods) and data/pitwall-pitwall/.
  nfs_server = get_env("DEPLOY_NFS_SERVER")
  nfs_path   = get_env("DEPLOY_NFS_PATH")
  # Copies the plugins built into the image to plugins/ when they are not there yet, so a
  # fresh export serves the `direct` extractor the source below uses.
  seed_default_plugins = true

  redis_enabled = true

  ingress_host                = get_env("DEPLOY_HOST")
  route_kind                  = get_env("DEPLOY_ROUTE_KIND", "ingress")
  ingress_class_name          = get_env("DEPLOY_INGRESS_CLASS", "nginx")
  ingress_tls_secret_name     = "pitwall-tls"
  cert_manager_cluster_issuer = get_env("DEPLOY_CLUSTER_ISSUER", "letsencrypt")
  gateway_name                = get_env("DEPLOY_GATEWAY_NAME", "")
  gateway_namespace           = get_env("DEPLOY_GATEWAY_NAMESPACE", "default")

  drain_timeout_seconds = 10

  resources = {
    requests = { cpu = "250m", memory = "256Mi" }
    limits   = { memory = "1Gi" }
  }

  schedule_season = "current"

  # [[source]] entries of pitwall.toml; each extractor must be a plugin in the NFS volume.
  sources_toml = <<-EOT
    [[source]]
    id = "direct-main"
    extractor = "direct"
    label = "Main feed"
    sessions = ["race", "qualifying", "sprint"]
    poll = "60s"
    settings = { url = "https://streams.example.com/f1/main/master.m3u8" }
  EOT
}
