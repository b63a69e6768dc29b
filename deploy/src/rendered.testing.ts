import path from 'node:path';
import { OVERLAYS } from './app-catalog';
import { renderKustomization, type K8sObject } from './kustomize';
import { K8S_DIR } from './paths';

let cache: Map<string, K8sObject[]> | undefined;

/** Every overlay rendered once per test file. */
export function renderedOverlays(): Map<string, K8sObject[]> {
  cache ??= new Map(
    OVERLAYS.map((overlay) => [overlay, renderKustomization(path.join(K8S_DIR, 'overlays', overlay))]),
  );
  return cache;
}

export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((object) => object.kind === kind);
}

export function named(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((object) => object.kind === kind && object.metadata.name === name);
}

/** Does a `matchLabels` selector select pods with these labels? An empty selector selects nothing here. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** Reads a nested field; tests use it on loosely typed objects. */
export function field<T = unknown>(object: unknown, ...keys: (string | number)[]): T {
  let node: unknown = object;
  for (const key of keys) node = (node as Record<string | number, unknown> | undefined)?.[key];
  return node as T;
}
