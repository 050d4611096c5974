output "namespace" {
  description = "Namespace pitwall runs in."
  value       = local.namespace
}

output "service_name" {
  description = "ClusterIP Service in front of the pitwall pods (port 80 → container port 8080)."
  value       = kubernetes_service_v1.pitwall.metadata[0].name
}

output "internal_url" {
  description = "In-cluster base URL of pitwall."
  value       = "http://${kubernetes_service_v1.pitwall.metadata[0].name}.${local.namespace}.svc"
}

output "url" {
  description = "Public URL (empty without an Ingress). Viewers open <url>/?token=<viewer token> once."
  value       = var.ingress_host == "" ? "" : "${var.ingress_tls_secret_name != "" ? "https" : "http"}://${var.ingress_host}/"
}

output "deployment_name" {
  description = "pitwall Deployment, e.g. for kubectl rollout status."
  value       = kubernetes_deployment_v1.pitwall.metadata[0].name
}

output "config_map_name" {
  description = "ConfigMap holding pitwall.toml."
  value       = kubernetes_config_map_v1.pitwall.metadata[0].name
}

output "secret_name" {
  description = "Secret holding the viewer/admin tokens, the relay key and the Redis URL."
  value       = kubernetes_secret_v1.pitwall.metadata[0].name
}

output "plugins_volume_name" {
  description = "Cluster-scoped NFS PersistentVolume with the extractor plugins."
  value       = kubernetes_persistent_volume_v1.plugins.metadata[0].name
}

output "plugins_claim_name" {
  description = "PersistentVolumeClaim of the plugins volume (mount it read-write to manage plugins from inside the cluster)."
  value       = kubernetes_persistent_volume_claim_v1.plugins.metadata[0].name
}

output "redis_service_name" {
  description = "In-cluster Redis Service (empty when redis_enabled = false)."
  value       = try(kubernetes_service_v1.redis[0].metadata[0].name, "")
}
