# Root Terragrunt configuration shared by every live environment under infra/terragrunt/
# (each includes it with find_in_parent_folders("root.hcl")). It is named root.hcl, not
# terragrunt.hcl: Terragrunt deprecates a root terragrunt.hcl, which it would otherwise also
# treat as a unit of its own.
#
# Environment variables it reads (all optional):
#   KUBE_CONFIG_PATH           kubeconfig file (default ~/.kube/config)
#   KUBE_CONTEXT               context in it (default: the file's current-context)
#   DEPLOY_TF_BACKEND          "local" (default: state files in .state/ beside this file) or
#                              "kubernetes" (state in a Secret of the cluster itself, with
#                              locking: what CI uses, as its workspace is thrown away after
#                              each run)
#   DEPLOY_TF_STATE_NAMESPACE  namespace of that Secret (default kube-system)

locals {
  kube_config_path = pathexpand(get_env("KUBE_CONFIG_PATH", "~/.kube/config"))
  kube_context     = get_env("KUBE_CONTEXT", "")
  backend          = get_env("DEPLOY_TF_BACKEND", "local")
  # e.g. "prod" for infra/terragrunt/prod
  unit = replace(path_relative_to_include(), "/", "-")

  backend_configs = {
    local = {
      path = "${get_parent_terragrunt_dir()}/.state/${path_relative_to_include()}/terraform.tfstate"
    }
    # Secret tfstate-default-pitwall-<unit>, locked with a Lease.
    kubernetes = {
      secret_suffix  = "pitwall-${local.unit}"
      namespace      = get_env("DEPLOY_TF_STATE_NAMESPACE", "kube-system")
      config_path    = local.kube_config_path
      config_context = local.kube_context
    }
  }
}

# Placeholder state backend: local files by default. Swap in s3/gcs/azurerm here if the
# team has one; the kubernetes backend needs nothing but the cluster.
remote_state {
  backend = local.backend

  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }

  config = local.backend_configs[local.backend]
}

# The kubernetes provider talks to the cluster named by the kubeconfig context above.
generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-EOT
    provider "kubernetes" {
      config_path    = ${jsonencode(local.kube_config_path)}
      config_context = ${local.kube_context == "" ? "null" : jsonencode(local.kube_context)}
    }
  EOT
}
