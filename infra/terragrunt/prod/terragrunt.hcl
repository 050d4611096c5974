# Production pitwall. Apply with:
#
#   cd infra/terragrunt/prod
#   export DEPLOY_IMAGE=registry.example.com/pitwall:<git sha>
#   export TF_VAR_viewer_token=... TF_VAR_admin_token=... TF_VAR_relay_key=...
#   terragrunt apply
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
  image     = get_env("DEPLOY_IMAGE", "registry.example.com/pitwall:latest")
  replicas  = 2

  nfs_server = get_env("DEPLOY_NFS_SERVER", "nfs.example.internal")
  nfs_path   = get_env("DEPLOY_NFS_PATH", "/exports/pitwall/plugins")

  redis_enabled = true

  ingress_host            = get_env("DEPLOY_HOST", "pitwall.example.com")
  ingress_class_name      = "nginx"
  ingress_tls_secret_name = "pitwall-tls"
  ingress_annotations = {
    "cert-manager.io/cluster-issuer" = "letsencrypt"
  }

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
