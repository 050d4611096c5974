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
  description = "pitwall container image built from infra/Dockerfile, e.g. registry.example.com/pitwall:<git sha>."
  type        = string
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

# --- plugins on NFS --------------------------------------------------------------------------

variable "nfs_server" {
  description = "NFS server holding the extractor plugins (*.wasm), shared by every replica."
  type        = string
}

variable "nfs_path" {
  description = "Exported path on nfs_server with the plugins."
  type        = string
}

variable "nfs_mount_options" {
  description = "NFS mount options. A short attribute cache (actimeo) lets pitwall's polling see replaced plugins sooner."
  type        = list(string)
  default     = ["nfsvers=4.1", "actimeo=10"]
}

variable "plugins_storage_class" {
  description = "Storage class name binding the static plugins PV to its claim (needs no provisioner; must not be empty, or the cluster's default class would be applied to the claim)."
  type        = string
  default     = "pitwall-plugins-nfs"
}

variable "seed_default_plugins" {
  description = "Run a Job that copies the image's default plugins (/app/plugins-default) into the NFS volume, never overwriting files already there. Needs the export to be writable by UID 10001."
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

# --- Ingress ---------------------------------------------------------------------------------

variable "ingress_host" {
  description = "Public host name; empty: no Ingress (reach the Service another way)."
  type        = string
  default     = ""
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
