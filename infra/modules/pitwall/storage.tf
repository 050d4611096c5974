# The extractor plugins live on NFS, shared by every replica: a static PersistentVolume
# (cluster-scoped, so its name carries the namespace) bound to one ReadWriteMany claim.
# pitwall mounts it read-only and polls it (NFS has no inotify); operators drop *.wasm files
# into the export. The compiled-plugin cache is NOT here: it is an emptyDir on local disk.

resource "kubernetes_persistent_volume_v1" "plugins" {
  metadata {
    name   = "${local.namespace}-${var.name}-plugins"
    labels = merge(local.common_labels, { "app.kubernetes.io/component" = "plugins" })
  }

  spec {
    capacity = {
      storage = "1Gi"
    }
    access_modes                     = ["ReadWriteMany"]
    persistent_volume_reclaim_policy = "Retain"
    storage_class_name               = var.plugins_storage_class
    mount_options                    = var.nfs_mount_options

    persistent_volume_source {
      nfs {
        server = var.nfs_server
        path   = var.nfs_path
      }
    }
  }
}

resource "kubernetes_persistent_volume_claim_v1" "plugins" {
  metadata {
    name      = "${var.name}-plugins"
    namespace = local.namespace
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = "plugins" })
  }

  spec {
    access_modes       = ["ReadWriteMany"]
    storage_class_name = var.plugins_storage_class
    volume_name        = kubernetes_persistent_volume_v1.plugins.metadata[0].name

    resources {
      requests = {
        storage = "1Gi"
      }
    }
  }

  wait_until_bound = true
}

# Optional: copy the plugins baked into the image into the volume, keeping files that are
# already there (cp -n), so a fresh export starts with the shipped extractors.
resource "kubernetes_job_v1" "seed_plugins" {
  count = var.seed_default_plugins ? 1 : 0

  metadata {
    name      = "${var.name}-seed-plugins"
    namespace = local.namespace
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = "seed-plugins" })
  }

  spec {
    backoff_limit = 2

    template {
      metadata {
        labels = merge(local.common_labels, { "app.kubernetes.io/component" = "seed-plugins" })
      }

      spec {
        restart_policy                  = "Never"
        automount_service_account_token = false

        security_context {
          run_as_non_root = true
          run_as_user     = local.uid
          run_as_group    = local.uid
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "seed"
          image             = var.image
          image_pull_policy = var.image_pull_policy
          command           = ["/bin/sh", "-c", "cp -nv /app/plugins-default/*.wasm ${local.plugins_path}/ && ls -l ${local.plugins_path}"]

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "plugins"
            mount_path = local.plugins_path
          }
        }

        volume {
          name = "plugins"
          persistent_volume_claim {
            claim_name = kubernetes_persistent_volume_claim_v1.plugins.metadata[0].name
          }
        }
      }
    }
  }

  wait_for_completion = true

  timeouts {
    create = "5m"
    update = "5m"
  }
}
