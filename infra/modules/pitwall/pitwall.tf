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

        dynamic "image_pull_secrets" {
          for_each = local.image_pull_secrets
          content {
            name = image_pull_secrets.value
          }
        }

        # Creates plugins/ and this deployment's data directory on the export and hands the
        # latter to the container's user (root, only CHOWN/DAC_OVERRIDE/FOWNER; turn it off with
        # nfs_init_ownership = false where the directories are prepared on the NFS server).
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

        # As the container's user: /data must be writable, or the rollout stops here.
        init_container {
          name              = "check-storage"
          image             = var.image
          image_pull_policy = var.image_pull_policy
          command           = ["/bin/sh", "-c", local.check_storage_script]

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            run_as_non_root            = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "storage"
            mount_path = local.plugins_path
            sub_path   = local.plugins_subpath
            read_only  = true
          }
          volume_mount {
            name       = "storage"
            mount_path = local.data_path
            sub_path   = local.data_subpath
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
          # on them; data is on NFS (shared), the cache an emptyDir on local disk (per pod).
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
            name       = "storage"
            mount_path = local.plugins_path
            sub_path   = local.plugins_subpath
            read_only  = true
          }
          volume_mount {
            name       = "storage"
            mount_path = local.data_path
            sub_path   = local.data_subpath
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
        # The NFS export: plugins/ read-only at /plugins, data/<namespace>-<name>/ read-write
        # at /data (the schedule snapshot, served after a restart without refetching). Every
        # replica shares it; writes are atomic (tmp + rename). The relay key comes from the
        # secret, so nothing else is written there.
        volume {
          name = "storage"
          persistent_volume_claim {
            claim_name = kubernetes_persistent_volume_claim_v1.storage.metadata[0].name
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

  depends_on = [kubernetes_job_v1.seed_plugins, terraform_data.preflight]
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
  count = local.use_ingress ? 1 : 0

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
      var.cert_manager_cluster_issuer != "" ? { "cert-manager.io/cluster-issuer" = var.cert_manager_cluster_issuer } : {},
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

  depends_on = [terraform_data.preflight]
}

# Gateway API instead of Ingress (route_kind = "gateway"): the Gateway, its listeners, TLS and
# any buffering settings belong to the Gateway's owner; this route only sends ingress_host to
# the Service. Needs the Gateway API CRDs (v1) in the cluster at plan time (the preflight
# says so first).
resource "kubernetes_manifest" "http_route" {
  count = local.use_gateway ? 1 : 0

  manifest = {
    apiVersion = "gateway.networking.k8s.io/v1"
    kind       = "HTTPRoute"
    metadata = {
      name      = var.name
      namespace = local.namespace
      labels    = merge(local.common_labels, { "app.kubernetes.io/component" = "server" })
    }
    spec = {
      parentRefs = [merge(
        { name = var.gateway_name, namespace = var.gateway_namespace },
        var.gateway_listener != "" ? { sectionName = var.gateway_listener } : {},
      )]
      hostnames = [var.ingress_host]
      rules = [{
        matches     = [{ path = { type = "PathPrefix", value = "/" } }]
        backendRefs = [{ name = kubernetes_service_v1.pitwall.metadata[0].name, port = 80 }]
      }]
    }
  }

  depends_on = [terraform_data.preflight]
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
