# Inputs of the pitwall module. Names, ports and paths follow the project README.

# --- identity ------------------------------------------------------------------------------

variable "name" {
  description = "Base name of every object (Deployment, Service, Ingress, ...)."
  type        = string
  default     = "pitwall"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be a DNS label of at most 40 characters."
  }
}

variable "namespace" {
  description = "Namespace to deploy into."
  type        = string
  default     = "pitwall"
}

variable "create_namespace" {
  description = "Create the namespace (false: it already exists)."
  type        = bool
  default     = true
}

# --- pitwall ---------------------------------------------------------------------------------

variable "image" {
  description = "pitwall container image built from infra/Dockerfile, as REPOSITORY:TAG or REPOSITORY@sha256:DIGEST (CI passes <repo>:<git sha>). Required."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must be REPOSITORY:TAG or REPOSITORY@sha256:DIGEST of the image built from infra/Dockerfile (CI sets DEPLOY_IMAGE=<repo>:<commit>)."
  }
  validation {
    condition     = !can(regex("(^|[./])example\\.(com|org|net|internal)(/|:|$)", var.image))
    error_message = "image still names the example registry: set DEPLOY_IMAGE (Terragrunt) or image to your registry's pitwall image."
  }
}

variable "image_pull_secrets" {
  description = "Names of existing kubernetes.io/dockerconfigjson Secrets in the namespace for pulling a private image."
  type        = list(string)
  default     = []
}

variable "registry_credentials" {
  description = "Credentials for a private registry; the module keeps them in a pull Secret used by every pod. null: none (public image, or image_pull_secrets)."
  type = object({
    server   = string
    username = string
    password = string
  })
  default   = null
  sensitive = true
}

variable "image_pull_policy" {
  description = "Image pull policy for the pitwall containers."
  type        = string
  default     = "IfNotPresent"
}

variable "replicas" {
  description = "Number of pitwall replicas. More than one needs Redis (redis_enabled or external_redis_url)."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 1 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number of at least 1."
  }
}

variable "viewer_token" {
  description = "Token viewers need (open /?token=T once). Required: pitwall refuses a non-loopback listener without one."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.viewer_token) >= 16
    error_message = "viewer_token must be at least 16 characters."
  }
}

variable "admin_token" {
  description = "Token guarding /extractors and enabling /proxy (admin only). Empty: /proxy is off and /extractors is open to viewers."
  type        = string
  default     = ""
  sensitive   = true
}

variable "relay_key" {
  description = "Key for signed relay URLs, shared by every replica so any replica serves any relay URL. Empty: one is generated and kept in the Terraform state."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.relay_key == "" || length(var.relay_key) >= 32
    error_message = "relay_key must be empty (generated) or at least 32 characters: pitwall refuses shorter keys."
  }
}

variable "trusted_proxies" {
  description = "Networks whose X-Forwarded-For/-Proto pitwall believes (--trusted-proxy): the ingress controller's pods. Without them every viewer shares the ingress's address, so wrong-token throttling and per-client connection caps would count all viewers as one."
  type        = list(string)
  default     = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]
}

variable "header_read_timeout_seconds" {
  description = "--header-read-timeout, also pitwall's keep-alive idle limit. Behind ingress-nginx it must outlive the controller's upstream keep-alive (60 s by default), or reused connections race the close; slow clients are the ingress's to cut off."
  type        = number
  default     = 75

  validation {
    condition     = var.header_read_timeout_seconds >= 1
    error_message = "header_read_timeout_seconds must be at least 1."
  }
}

variable "drain_timeout_seconds" {
  description = "How long a stopping pod lets in-flight relays finish (--drain-timeout). The pod's termination grace period is derived from it."
  type        = number
  default     = 10

  validation {
    condition     = var.drain_timeout_seconds >= 1
    error_message = "drain_timeout_seconds must be at least 1."
  }
}

variable "rust_log" {
  description = "RUST_LOG filter for pitwall's logs, e.g. info or pitwall=debug,info."
  type        = string
  default     = "info"
}

variable "extra_env" {
  description = "Extra environment variables for pitwall, e.g. { PITWALL_ALLOW_UPSTREAM = \"cdn.internal:8443\" }."
  type        = map(string)
  default     = {}
}

variable "resources" {
  description = "Requests and limits of the pitwall container."
  type = object({
    requests = map(string)
    limits   = map(string)
  })
  default = {
    requests = { cpu = "100m", memory = "128Mi" }
    limits   = { memory = "512Mi" }
  }
}

# --- configuration file (pitwall.toml) -----------------------------------------------------

variable "schedule_sources" {
  description = "Schedule sources in order of preference ([schedule] sources)."
  type        = list(string)
  default     = ["jolpica", "openf1"]
}

variable "schedule_season" {
  description = "Season to follow: \"current\" or a year such as \"2026\" ([schedule] season)."
  type        = string
  default     = "current"

  validation {
    condition     = var.schedule_season == "current" || can(regex("^[0-9]{4}$", var.schedule_season))
    error_message = "schedule_season must be \"current\" or a four-digit year."
  }
}

variable "schedule_refresh" {
  description = "Cron (with seconds, UTC) for re-fetching the schedule ([schedule] refresh)."
  type        = string
  default     = "0 0 6 * * *"
}

variable "polling_window_before" {
  description = "Start polling sources this long before a session ([polling] window_before)."
  type        = string
  default     = "30m"
}

variable "polling_window_after" {
  description = "Keep polling this long after a session ([polling] window_after)."
  type        = string
  default     = "30m"
}

variable "health_interval" {
  description = "Stream probe interval ([health] interval)."
  type        = string
  default     = "15s"
}

variable "health_fail_threshold" {
  description = "Consecutive failed probes that mark a stream dead ([health] fail_threshold)."
  type        = number
  default     = 2
}

variable "sources_toml" {
  description = "The [[source]] entries of pitwall.toml, verbatim TOML (see the README's configuration file). Empty: no sources yet."
  type        = string
  default     = ""
}

# --- plugins and data on NFS -------------------------------------------------------------------

variable "nfs_server" {
  description = "NFS server (host name or IP address) whose export holds plugins/ and data/. Required."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$", var.nfs_server))
    error_message = "nfs_server must be the NFS server's host name or IP address (Terragrunt: DEPLOY_NFS_SERVER)."
  }
  validation {
    condition     = !can(regex("(^|\\.)example(\\.|$)", var.nfs_server))
    error_message = "nfs_server is still the example placeholder: set DEPLOY_NFS_SERVER (Terragrunt) or nfs_server."
  }
}

variable "nfs_path" {
  description = "Exported path on nfs_server. pitwall uses plugins/ (read-only, shared) and data/<namespace>-<name>/ (read-write) under it. Required."
  type        = string

  validation {
    condition     = startswith(var.nfs_path, "/") && !strcontains(var.nfs_path, "..")
    error_message = "nfs_path must be an absolute path exported by nfs_server (Terragrunt: DEPLOY_NFS_PATH)."
  }
}

variable "nfs_capacity" {
  description = "Size declared on the NFS PersistentVolume and its claim (NFS does not enforce it)."
  type        = string
  default     = "5Gi"
}

variable "nfs_init_ownership" {
  description = "Run a root init container (CHOWN, DAC_OVERRIDE, FOWNER only) that creates plugins/ and the data directory and gives the latter to UID 10001. Needs an export without root_squash; false: create them on the server yourself (owned by 10001:10001)."
  type        = bool
  default     = true
}

variable "nfs_mount_options" {
  description = "NFS mount options. A short attribute cache (actimeo) lets pitwall's polling see replaced plugins sooner."
  type        = list(string)
  default     = ["nfsvers=4.1", "actimeo=10"]
}

variable "storage_class" {
  description = "Storage class name binding the static NFS PV to its claim (needs no provisioner; must not be empty, or the cluster's default class would be applied to the claim)."
  type        = string
  default     = "pitwall-nfs"

  validation {
    condition     = var.storage_class != ""
    error_message = "storage_class must not be empty: the claim would get the cluster's default class and never bind the NFS volume."
  }
}

variable "seed_default_plugins" {
  description = "Run a Job that copies the image's default plugins (/app/plugins-default) into plugins/ on the NFS export, never overwriting files already there. Needs plugins/ writable by UID 10001 (nfs_init_ownership creates it so)."
  type        = bool
  default     = false
}

# --- Redis -----------------------------------------------------------------------------------

variable "redis_enabled" {
  description = "Run an in-cluster Redis (a cache: no persistence) shared by the replicas."
  type        = bool
  default     = true
}

variable "redis_image" {
  description = "Redis image for the in-cluster Redis."
  type        = string
  default     = "redis:7.4-alpine"
}

variable "redis_max_memory" {
  description = "Redis maxmemory; past it the least recently used keys are evicted."
  type        = string
  default     = "200mb"
}

variable "redis_resources" {
  description = "Requests and limits of the Redis container (keep the memory limit above redis_max_memory)."
  type = object({
    requests = map(string)
    limits   = map(string)
  })
  default = {
    requests = { cpu = "50m", memory = "64Mi" }
    limits   = { memory = "256Mi" }
  }
}

variable "external_redis_url" {
  description = "Use this Redis instead of the in-cluster one (with redis_enabled = false), e.g. redis://redis.shared:6379/3."
  type        = string
  default     = ""
  sensitive   = true
}

# --- public entry: Ingress or Gateway API ------------------------------------------------------

variable "ingress_host" {
  description = "Public host name, for the Ingress or the HTTPRoute (route_kind); empty: neither (reach the Service another way)."
  type        = string
  default     = ""

  validation {
    condition     = var.ingress_host == "" || can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,63}$", var.ingress_host))
    error_message = "ingress_host must be a lower-case DNS name such as f1.my-club.org (Terragrunt: DEPLOY_HOST), or empty."
  }
  validation {
    condition     = !can(regex("(^|\\.)example\\.(com|org|net)$", var.ingress_host))
    error_message = "ingress_host is still the example placeholder: set DEPLOY_HOST (Terragrunt) or ingress_host to the name viewers open."
  }
}

variable "route_kind" {
  description = "How ingress_host reaches the Service: \"ingress\" (networking.k8s.io Ingress, annotated for ingress-nginx) or \"gateway\" (Gateway API HTTPRoute attached to gateway_name)."
  type        = string
  default     = "ingress"

  validation {
    condition     = contains(["ingress", "gateway"], var.route_kind)
    error_message = "route_kind must be \"ingress\" or \"gateway\"."
  }
}

variable "gateway_name" {
  description = "With route_kind = \"gateway\": the Gateway the HTTPRoute attaches to."
  type        = string
  default     = ""
}

variable "gateway_namespace" {
  description = "Namespace of gateway_name (its listener must allow routes from this namespace)."
  type        = string
  default     = "default"
}

variable "gateway_listener" {
  description = "Listener (sectionName) of the Gateway to attach to; empty: every listener that admits the route."
  type        = string
  default     = ""
}

variable "cert_manager_cluster_issuer" {
  description = "cert-manager ClusterIssuer that signs ingress_tls_secret_name (added as the cert-manager.io/cluster-issuer annotation and checked by the preflight); empty: TLS secret managed another way."
  type        = string
  default     = ""
}

variable "preflight" {
  description = "Check before applying that the cluster has what this configuration needs (IngressClass, cert-manager ClusterIssuer, Gateway API and its Gateway) and fail with what to install. Needs list access to those kinds."
  type        = bool
  default     = true
}

variable "ingress_class_name" {
  description = "IngressClass; the default annotations are for ingress-nginx."
  type        = string
  default     = "nginx"
}

variable "ingress_tls_secret_name" {
  description = "TLS secret for ingress_host (e.g. made by cert-manager); empty: no TLS section."
  type        = string
  default     = ""
}

variable "ingress_annotations" {
  description = "Extra Ingress annotations, merged over the streaming defaults (e.g. cert-manager.io/cluster-issuer)."
  type        = map(string)
  default     = {}
}
