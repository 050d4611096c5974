# In-cluster Redis shared by the replicas: the store (stream state, leader lock for the
# background jobs). It is a cache: no persistence, no replication. Losing it costs one polling
# round, after which the leader fills it again, so a plain Deployment with one pod is enough.

resource "kubernetes_deployment_v1" "redis" {
  count = var.redis_enabled ? 1 : 0

  metadata {
    name      = "${var.name}-redis"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.redis_selector)
  }

  spec {
    replicas = 1

    selector {
      match_labels = local.redis_selector
    }

    strategy {
      type = "Recreate"
    }

    template {
      metadata {
        labels = merge(local.common_labels, local.redis_selector)
      }

      spec {
        automount_service_account_token = false

        security_context {
          run_as_non_root = true
          run_as_user     = 999
          run_as_group    = 999
          fs_group        = 999
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "redis"
          image             = var.redis_image
          image_pull_policy = "IfNotPresent"
          args = [
            "redis-server",
            "--save", "",
            "--appendonly", "no",
            "--maxmemory", var.redis_max_memory,
            "--maxmemory-policy", "allkeys-lru",
          ]

          port {
            name           = "redis"
            container_port = 6379
            protocol       = "TCP"
          }

          liveness_probe {
            tcp_socket {
              port = "redis"
            }
            period_seconds    = 10
            failure_threshold = 3
          }
          readiness_probe {
            exec {
              command = ["redis-cli", "ping"]
            }
            period_seconds  = 5
            timeout_seconds = 2
          }

          resources {
            requests = var.redis_resources.requests
            limits   = var.redis_resources.limits
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "data"
            mount_path = "/data"
          }
        }

        volume {
          name = "data"
          empty_dir {
            size_limit = "64Mi"
          }
        }
      }
    }
  }
}

resource "kubernetes_service_v1" "redis" {
  count = var.redis_enabled ? 1 : 0

  metadata {
    name      = "${var.name}-redis"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.redis_selector)
  }

  spec {
    type     = "ClusterIP"
    selector = local.redis_selector

    port {
      name        = "redis"
      port        = 6379
      target_port = "redis"
      protocol    = "TCP"
    }
  }
}

# Redis has no password: only pitwall's pods may reach it (where NetworkPolicy is enforced).
resource "kubernetes_network_policy_v1" "redis" {
  count = var.redis_enabled ? 1 : 0

  metadata {
    name      = "${var.name}-redis"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.redis_selector)
  }

  spec {
    pod_selector {
      match_labels = local.redis_selector
    }
    policy_types = ["Ingress"]

    ingress {
      from {
        pod_selector {
          match_labels = local.server_selector
        }
      }
      ports {
        port     = "redis"
        protocol = "TCP"
      }
    }
  }
}
