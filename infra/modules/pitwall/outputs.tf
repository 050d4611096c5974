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
  description = "Public URL (empty without ingress_host; https with a TLS secret or behind a Gateway). Viewers open it and sign in with the viewer token once."
  value       = var.ingress_host == "" ? "" : "${var.ingress_tls_secret_name != "" || var.route_kind == "gateway" ? "https" : "http"}://${var.ingress_host}/"
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

output "storage_volume_name" {
  description = "Cluster-scoped NFS PersistentVolume (the export: plugins/ and data/)."
  value       = kubernetes_persistent_volume_v1.storage.metadata[0].name
}

output "storage_claim_name" {
  description = "PersistentVolumeClaim of the NFS volume (mount it read-write, with sub_path plugins, to manage plugins from inside the cluster)."
  value       = kubernetes_persistent_volume_claim_v1.storage.metadata[0].name
}

output "data_subpath" {
  description = "This deployment's data directory inside the NFS export (mounted at /data in every pod)."
  value       = local.data_subpath
}

output "redis_service_name" {
  description = "In-cluster Redis Service (empty when redis_enabled = false)."
  value       = try(kubernetes_service_v1.redis[0].metadata[0].name, "")
}
