# One NFS export holds everything pitwall keeps across restarts, shared by every replica: a
# static PersistentVolume (cluster-scoped, so its name carries the namespace) bound to one
# ReadWriteMany claim. Inside the export:
#
#   plugins/                       extractor plugins (*.wasm), mounted read-only at /plugins;
#                                  written by whoever ships plugins (seed Job, an operator)
#   data/<namespace>-<name>/       this deployment's data directory, mounted read-write at /data
#                                  (schedule snapshots; written atomically, tmp + rename)
#
# The compiled-plugin cache is NOT here: it is an emptyDir on each pod's local disk.

resource "kubernetes_persistent_volume_v1" "storage" {
  metadata {
    name   = "${local.namespace}-${var.name}-storage"
    labels = merge(local.common_labels, { "app.kubernetes.io/component" = "storage" })
  }

  spec {
    capacity = {
      storage = var.nfs_capacity
    }
    access_modes                     = ["ReadWriteMany"]
    persistent_volume_reclaim_policy = "Retain"
    storage_class_name               = var.storage_class
    mount_options                    = var.nfs_mount_options

    persistent_volume_source {
      nfs {
        server = var.nfs_server
        path   = var.nfs_path
      }
    }
  }
}

resource "kubernetes_persistent_volume_claim_v1" "storage" {
  metadata {
    name      = "${var.name}-storage"
    namespace = local.namespace
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = "storage" })
  }

  spec {
    access_modes       = ["ReadWriteMany"]
    storage_class_name = var.storage_class
    volume_name        = kubernetes_persistent_volume_v1.storage.metadata[0].name

    resources {
      requests = {
        storage = var.nfs_capacity
      }
    }
  }

  wait_until_bound = true
}

# Optional: copy the plugins baked into the image into plugins/ on the volume, keeping files
# that are already there (cp -n), so a fresh export starts with the shipped extractors. Its
# init containers create the directories with the ownership pitwall needs first.
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

        dynamic "image_pull_secrets" {
          for_each = local.image_pull_secrets
          content {
            name = image_pull_secrets.value
          }
        }

        dynamic "init_container" {
          for_each = var.nfs_init_ownership ? [1] : []
          content {
            name              = "prepare-storage"
            image             = var.image
            image_pull_policy = var.image_pull_policy
            command           = ["/bin/sh", "-c", local.prepare_storage_script]

            security_context {
              run_as_non_root            = false
              run_as_user                = 0
              allow_privilege_escalation = false
              read_only_root_filesystem  = true
              capabilities {
                drop = ["ALL"]
                add  = ["CHOWN", "DAC_OVERRIDE", "FOWNER"]
              }
            }

            volume_mount {
              name       = "storage"
              mount_path = local.storage_mount
            }
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
            name       = "storage"
            mount_path = local.plugins_path
            sub_path   = local.plugins_subpath
          }
        }

        volume {
          name = "storage"
          persistent_volume_claim {
            claim_name = kubernetes_persistent_volume_claim_v1.storage.metadata[0].name
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
