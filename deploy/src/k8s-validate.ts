import { z } from 'zod';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as policy from 'kubernetes-models/policy/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { K8sObject } from './kustomize';

/** A model class of kubernetes-models: its prototype's `validate()` throws on a schema violation. */
interface ModelClass {
  prototype: { validate(): void };
}

/** The schema of every kind Strata's manifests may contain, by `apiVersion/kind`. */
const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': core.ConfigMap,
  'v1/Service': core.Service,
  'v1/ServiceAccount': core.ServiceAccount,
  'v1/PersistentVolumeClaim': core.PersistentVolumeClaim,
  'apps/v1/Deployment': apps.Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': autoscaling.HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': networking.NetworkPolicy,
  'keda.sh/v1alpha1/ScaledObject': keda.ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': keda.TriggerAuthentication,
  'monitoring.coreos.com/v1/ServiceMonitor': monitoring.ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': monitoring.PrometheusRule,
};

/**
 * Strimzi's KafkaTopic (kafka.strimzi.io/v1beta2): no model package covers it, so this is its schema, strict
 * (unknown fields rejected), after Strimzi's CRD: partitions and replicas at least 1, config values scalar.
 */
const kafkaTopicSchema = z.strictObject({
  apiVersion: z.literal('kafka.strimzi.io/v1beta2'),
  kind: z.literal('KafkaTopic'),
  metadata: z.strictObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label'),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).refine((labels) => labels['strimzi.io/cluster'] !== undefined, {
      message: 'must name its Kafka cluster in the strimzi.io/cluster label',
    }),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    topicName: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,249}$/)
      .optional(),
    partitions: z.number().int().min(1),
    replicas: z.number().int().min(1).max(32767),
    config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  }),
});

/**
 * Runs `validate` over a proxy of `value` that records, at each JSON pointer, which properties the schema
 * looked up and whether it enumerated the object's keys (a map such as `labels`). The generated validators
 * look up every property their schema declares, so a key that was never looked up at a position where keys
 * were not enumerated is a field the schema does not know.
 */
function unknownFields(value: unknown, validate: (tracked: unknown) => void): string[] {
  const lookedUp = new Map<string, Set<string>>();
  const enumerated = new Set<string>();
  const note = (pointer: string, key: string) => {
    let keys = lookedUp.get(pointer);
    if (!keys) lookedUp.set(pointer, (keys = new Set()));
    keys.add(key);
  };
  const track = (target: unknown, pointer: string): unknown => {
    if (target === null || typeof target !== 'object') return target;
    return new Proxy(target, {
      get(object, key, receiver) {
        const child: unknown = Reflect.get(object, key, receiver);
        if (typeof key !== 'string') return child;
        note(pointer, key);
        return track(child, `${pointer}/${key}`);
      },
      has(object, key) {
        if (typeof key === 'string') note(pointer, key);
        return Reflect.has(object, key);
      },
      ownKeys(object) {
        enumerated.add(pointer);
        return Reflect.ownKeys(object);
      },
    });
  };
  try {
    validate(track(value, ''));
  } catch {
    // Schema errors are reported by the plain validation; this pass only collects lookups.
  }
  const unknown: string[] = [];
  const walk = (node: unknown, pointer: string) => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, `${pointer}/${index}`));
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      if (!enumerated.has(pointer) && !lookedUp.get(pointer)?.has(key)) unknown.push(`${pointer}/${key}`);
      walk(child, `${pointer}/${key}`);
    }
  };
  walk(value, '');
  return unknown;
}

/**
 * Validates one object against its kind's schema (kubernetes-models for Kubernetes 1.27, KEDA and the
 * Prometheus operator; Strata's own for Strimzi's KafkaTopic) and rejects fields the schema does not know.
 * Returns the problems, each naming the object and the field; empty when the object is valid.
 */
export function validateObject(object: K8sObject): string[] {
  const id = `${object.kind}/${object.metadata?.name ?? '(unnamed)'}`;
  const key = `${object.apiVersion}/${object.kind}`;
  if (key === 'kafka.strimzi.io/v1beta2/KafkaTopic') {
    const result = kafkaTopicSchema.safeParse(object);
    return result.success
      ? []
      : result.error.issues.map((issue) => `${id}: /${issue.path.join('/')}: ${issue.message}`);
  }
  const model = MODELS[key];
  if (!model) return [`${id}: no schema for ${key}; add one before deploying this kind`];
  const validate = (value: unknown) => model.prototype.validate.call(value);
  const problems: string[] = [];
  try {
    validate(object);
  } catch (error) {
    problems.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const field of unknownFields(object, validate)) problems.push(`${id}: unknown field ${field}`);
  return problems;
}
