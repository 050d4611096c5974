# The pitwall server: Deployment, Service, Ingress and PodDisruptionBudget.

resource "kubernetes_deployment_v1" "pitwall" {
  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = "server" })
  }

  spec {
    replicas               = var.replicas
    revision_history_limit = 5

    selector {
      match_labels = local.server_selector
    }

    # Never drop below the wanted number of ready replicas while rolling out.
    strategy {
      type = "RollingUpdate"
      rolling_update {
        max_surge       = "1"
        max_unavailable = "0"
      }
    }

    template {
      metadata {
        labels = merge(local.common_labels, local.server_selector)
        annotations = {
          # Roll the pods when the configuration file changes.
          "checksum/config" = sha256(local.config_toml)
        }
      }

      spec {
        automount_service_account_token  = false
        termination_grace_period_seconds = local.termination_grace

        security_context {
          run_as_non_root = true
          run_as_user     = local.uid
          run_as_group    = local.uid
          fs_group        = local.uid
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        # Spread replicas over nodes when the cluster has several.
        topology_spread_constraint {
          max_skew           = 1
          topology_key       = "kubernetes.io/hostname"
          when_unsatisfiable = "ScheduleAnyway"
          label_selector {
            match_labels = local.server_selector
          }
        }

        container {
          name              = "pitwall"
          image             = var.image
          image_pull_policy = var.image_pull_policy
          args              = ["--config", "${local.config_dir}/${local.config_file}"]

          port {
            name           = "http"
            container_port = local.port
            protocol       = "TCP"
          }

          # Paths and listen address repeat the image's defaults so the pod does not depend
          # on them; the cache is an emptyDir on local disk, never the NFS volume.
          env {
            name  = "PITWALL_LISTEN"
            value = "0.0.0.0:${local.port}"
          }
          env {
            name  = "PITWALL_DATA_DIR"
            value = local.data_path
          }
          env {
            name  = "PITWALL_PLUGINS_DIR"
            value = local.plugins_path
          }
          env {
            name  = "PITWALL_CACHE_DIR"
            value = local.cache_path
          }
          env {
            name  = "PITWALL_LOG_FORMAT"
            value = "json"
          }
          env {
            name  = "PITWALL_DRAIN_TIMEOUT"
            value = "${var.drain_timeout_seconds}s"
          }
          env {
            name  = "PITWALL_TRUSTED_PROXY"
            value = join(",", var.trusted_proxies)
          }
          env {
            name  = "PITWALL_HEADER_READ_TIMEOUT"
            value = "${var.header_read_timeout_seconds}s"
          }
          env {
            name  = "RUST_LOG"
            value = var.rust_log
          }
          env {
            name = "PITWALL_VIEWER_TOKEN"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.pitwall.metadata[0].name
                key  = "viewer-token"
              }
            }
          }
          env {
            name = "PITWALL_RELAY_KEY"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.pitwall.metadata[0].name
                key  = "relay-key"
              }
            }
          }
          env {
            name = "PITWALL_ADMIN_TOKEN"
            value_from {
              secret_key_ref {
                name     = kubernetes_secret_v1.pitwall.metadata[0].name
                key      = "admin-token"
                optional = true
              }
            }
          }
          env {
            name = "PITWALL_REDIS_URL"
            value_from {
              secret_key_ref {
                name     = kubernetes_secret_v1.pitwall.metadata[0].name
                key      = "redis-url"
                optional = true
              }
            }
          }
          dynamic "env" {
            for_each = var.extra_env
            content {
              name  = env.key
              value = env.value
            }
          }

          # Up to a minute to bind (first start compiles the plugins into the cache).
          startup_probe {
            http_get {
              path = "/healthz"
              port = "http"
            }
            period_seconds    = 2
            timeout_seconds   = 2
            failure_threshold = 30
          }
          liveness_probe {
            http_get {
              path = "/healthz"
              port = "http"
            }
            period_seconds    = 10
            timeout_seconds   = 3
            failure_threshold = 3
          }
          # 503 until the schedule and the plugins are loaded.
          readiness_probe {
            http_get {
              path = "/readyz"
              port = "http"
            }
            period_seconds    = 5
            timeout_seconds   = 3
            failure_threshold = 2
          }

          lifecycle {
            pre_stop {
              exec {
                command = ["sleep", tostring(local.pre_stop_sleep_seconds)]
              }
            }
          }

          resources {
            requests = var.resources.requests
            limits   = var.resources.limits
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            run_as_non_root            = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "config"
            mount_path = local.config_dir
            read_only  = true
          }
          volume_mount {
            name       = "plugins"
            mount_path = local.plugins_path
            read_only  = true
          }
          volume_mount {
            name       = "data"
            mount_path = local.data_path
          }
          volume_mount {
            name       = "cache"
            mount_path = local.cache_path
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "config"
          config_map {
            name = kubernetes_config_map_v1.pitwall.metadata[0].name
          }
        }
        volume {
          name = "plugins"
          persistent_volume_claim {
            claim_name = kubernetes_persistent_volume_claim_v1.plugins.metadata[0].name
            read_only  = true
          }
        }
        # Persisted schedule snapshot: fine to lose, it is fetched again on start. The relay
        # key comes from the secret, so no replica depends on its own data dir.
        volume {
          name = "data"
          empty_dir {
            size_limit = "256Mi"
          }
        }
        # Compiled-plugin cache: local disk, per pod.
        volume {
          name = "cache"
          empty_dir {
            size_limit = "1Gi"
          }
        }
        volume {
          name = "tmp"
          empty_dir {
            size_limit = "64Mi"
          }
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.replicas == 1 || var.redis_enabled || nonsensitive(var.external_redis_url != "")
      error_message = "Several replicas need a shared store: set redis_enabled = true or external_redis_url."
    }
  }

  depends_on = [kubernetes_job_v1.seed_plugins]
}

resource "kubernetes_service_v1" "pitwall" {
  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = "server" })
  }

  spec {
    type     = "ClusterIP"
    selector = local.server_selector

    port {
      name        = "http"
      port        = 80
      target_port = "http"
      protocol    = "TCP"
    }
  }
}

resource "kubernetes_ingress_v1" "pitwall" {
  count = var.ingress_host != "" ? 1 : 0

  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = "server" })
    # ingress-nginx: pass relayed segments on as they arrive (no buffering either way) and
    # allow slow, long-lived segment responses.
    annotations = merge(
      {
        "nginx.ingress.kubernetes.io/proxy-buffering"         = "off"
        "nginx.ingress.kubernetes.io/proxy-request-buffering" = "off"
        "nginx.ingress.kubernetes.io/proxy-read-timeout"      = "3600"
        "nginx.ingress.kubernetes.io/proxy-send-timeout"      = "3600"
      },
      var.ingress_annotations,
    )
  }

  spec {
    ingress_class_name = var.ingress_class_name

    dynamic "tls" {
      for_each = var.ingress_tls_secret_name != "" ? [var.ingress_tls_secret_name] : []
      content {
        hosts       = [var.ingress_host]
        secret_name = tls.value
      }
    }

    rule {
      host = var.ingress_host
      http {
        path {
          path      = "/"
          path_type = "Prefix"
          backend {
            service {
              name = kubernetes_service_v1.pitwall.metadata[0].name
              port {
                name = "http"
              }
            }
          }
        }
      }
    }
  }
}

# Voluntary disruptions (node drains) take one pod at a time; with one replica a drain can
# still proceed (maxUnavailable rather than minAvailable).
resource "kubernetes_pod_disruption_budget_v1" "pitwall" {
  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = "server" })
  }

  spec {
    max_unavailable = "1"
    selector {
      match_labels = local.server_selector
    }
  }
}
