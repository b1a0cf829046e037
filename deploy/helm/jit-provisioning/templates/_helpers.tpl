{{/* Chart name (nameOverride). */}}
{{- define "jit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name (fullnameOverride); component names are <fullname>-<component>. */}}
{{- define "jit.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "jit.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels; call with (dict "root" $ "component" "web"). */}}
{{- define "jit.labels" -}}
helm.sh/chart: {{ include "jit.chart" .root }}
{{ include "jit.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: jit-provisioning
{{- end -}}

{{- define "jit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jit.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "jit.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "jit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "jit.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "jit.configMapName" -}}
{{- printf "%s-config" (include "jit.fullname" .) -}}
{{- end -}}

{{- define "jit.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "jit.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Whether an IdPs file is mounted (on the web pods) and JIT_IDPS_FILE set. */}}
{{- define "jit.idpsEnabled" -}}
{{- if or .Values.idps.items .Values.idps.existingConfigMap .Values.idps.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* JIT_PUBLIC_URL: config.publicUrl, else the first Ingress host (https when it has TLS). */}}
{{- define "jit.publicUrl" -}}
{{- if .Values.config.publicUrl -}}
{{- .Values.config.publicUrl -}}
{{- else if and .Values.web.ingress.enabled .Values.web.ingress.hosts -}}
{{- $host := (first .Values.web.ingress.hosts).host -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.web.ingress.tls))) $host -}}
{{- end -}}
{{- end -}}

{{/* Environment variables that must come from the Secret, never from the ConfigMap. */}}
{{- define "jit.secretEnvNames" -}}
JIT_DATABASE_URL JIT_ADMIN_TOKENS JIT_GATEWAY_TOKENS JIT_SESSION_SECRET JIT_METRICS_TOKEN
{{- end -}}

{{/* Pod template annotations: roll the pods when the configuration changes. */}}
{{- define "jit.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if include "jit.idpsEnabled" . }}
checksum/idps: {{ include (print .Template.BasePath "/idps-configmap.yaml") . | sha256sum }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* envFrom shared by every jit container: the ConfigMap and the Secret. */}}
{{- define "jit.envFrom" -}}
- configMapRef:
    name: {{ include "jit.configMapName" . }}
- secretRef:
    name: {{ include "jit.secretName" . }}
{{- end -}}

{{/* Pod-level fields shared by every workload. */}}
{{- define "jit.podCommon" -}}
serviceAccountName: {{ include "jit.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A jit Deployment; call with
(dict "root" $ "component" "web" "services" "gateway,api" "replicas" 2 "resources" {…} "web" true).
*/}}
{{- define "jit.deployment" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $web := .web -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "jit.fullname" $root }}-{{ .component }}
  labels:
    {{- include "jit.labels" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  replicas: {{ .replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "jit.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "jit.labels" (dict "root" $root "component" .component) | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- include "jit.podAnnotations" $root | nindent 8 }}
    spec:
      {{- include "jit.podCommon" $root | nindent 6 }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      containers:
        - name: jit
          image: {{ include "jit.image" $root | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args: ["serve", "--services", {{ .services | quote }}]
          ports:
            - name: http
              containerPort: {{ $v.containerPort }}
              protocol: TCP
          envFrom:
            {{- include "jit.envFrom" $root | nindent 12 }}
          {{- if and $web (include "jit.idpsEnabled" $root) }}
          env:
            - name: JIT_IDPS_FILE
              value: {{ printf "%s/%s" $v.idps.mountPath $v.idps.key | quote }}
          {{- end }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: {{ $v.probes.startup.periodSeconds }}
            timeoutSeconds: {{ $v.probes.startup.timeoutSeconds }}
            failureThreshold: {{ $v.probes.startup.failureThreshold }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: {{ $v.probes.liveness.initialDelaySeconds }}
            periodSeconds: {{ $v.probes.liveness.periodSeconds }}
            timeoutSeconds: {{ $v.probes.liveness.timeoutSeconds }}
            failureThreshold: {{ $v.probes.liveness.failureThreshold }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            initialDelaySeconds: {{ $v.probes.readiness.initialDelaySeconds }}
            periodSeconds: {{ $v.probes.readiness.periodSeconds }}
            timeoutSeconds: {{ $v.probes.readiness.timeoutSeconds }}
            failureThreshold: {{ $v.probes.readiness.failureThreshold }}
          {{- if and $web $v.web.preStopSleepSeconds }}
          lifecycle:
            preStop:
              exec:
                command: ["sleep", {{ $v.web.preStopSleepSeconds | quote }}]
          {{- end }}
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if and $web (include "jit.idpsEnabled" $root) }}
            - name: idps
              mountPath: {{ $v.idps.mountPath }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $v.tmpSizeLimit }}
        {{- if and $web (include "jit.idpsEnabled" $root) }}
        - name: idps
          {{- if $v.idps.existingSecret }}
          secret:
            secretName: {{ $v.idps.existingSecret }}
          {{- else }}
          configMap:
            name: {{ default (printf "%s-idps" (include "jit.fullname" $root)) $v.idps.existingConfigMap }}
          {{- end }}
            items:
              - key: {{ $v.idps.key }}
                path: {{ $v.idps.key }}
        {{- end }}
{{- end -}}
