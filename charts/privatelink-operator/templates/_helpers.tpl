{{/* Name of the chart (or nameOverride), at most 63 characters. */}}
{{- define "plo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "plo.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "plo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "plo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "plo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "plo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "plo.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "plo.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when the replicas elect a leader with kopf peering. */}}
{{- define "plo.peering" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.leaderElection.enabled }}true{{ end }}
{{- end }}

{{/* "true" when some watched namespace is a glob (RBAC must then be cluster-wide). */}}
{{- define "plo.namespaceGlobs" -}}
{{- range .Values.watch.namespaces }}{{ if regexMatch "[*?\\[]" . }}true{{ end }}{{ end }}
{{- end }}

{{/* "true" when RBAC is granted per namespace (a Role and RoleBinding in each). */}}
{{- define "plo.namespacedRbac" -}}
{{- if and .Values.watch.namespaces (not (include "plo.namespaceGlobs" .)) }}true{{ end }}
{{- end }}

{{/* Rules for the objects the operator serves, in the namespaces it watches. */}}
{{- define "plo.namespacedRules" -}}
# The two kinds it serves: watch, finalizers and kopf's annotations (patch), and status.
- apiGroups: [privatelink.operator.dev]
  resources: [privatelinkservices, privatelinkendpoints]
  verbs: [list, watch, patch]
- apiGroups: [privatelink.operator.dev]
  resources: [privatelinkservices/status, privatelinkendpoints/status]
  verbs: [patch]
# backend.serviceRef: a Service's ports and the ready addresses of its EndpointSlices (read only).
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
# probe.caBundleRef: CA bundles (read only).
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
{{- if .Values.rbac.readSecrets }}
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
{{- end }}
# Events on the objects it serves.
- apiGroups: [""]
  resources: [events]
  verbs: [create]
# kopf peering (leader election between replicas) in namespaced mode.
- apiGroups: [kopf.dev]
  resources: [kopfpeerings]
  verbs: [get, list, watch, patch]
{{- end }}

{{/* Cluster-scoped reads kopf needs in every mode: CRDs (to find its resources), namespaces. */}}
{{- define "plo.clusterRules" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
- apiGroups: [kopf.dev]
  resources: [clusterkopfpeerings]
  verbs: [get, list, watch, patch]
{{- end }}
