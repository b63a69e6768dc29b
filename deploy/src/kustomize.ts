import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object, loosely typed: tests read fields by path. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The kustomize that renders here: `kubectl kustomize` (kustomize v5 is built into kubectl 1.27+), else a
 * standalone `kustomize` binary. Neither one is an npm package; without both, rendering fails and says how
 * to get one, so the manifest tests fail loudly instead of passing on nothing.
 */
export function kustomizeCommand(): [string, ...string[]] {
  if (onPath('kubectl')) return ['kubectl', 'kustomize'];
  if (onPath('kustomize')) return ['kustomize', 'build'];
  throw new Error(
    'Rendering the manifests needs kustomize: install kubectl 1.27 or later (it has kustomize v5 built in) ' +
      'or a kustomize v5 binary, and put it on PATH.',
  );
}

/** Renders a kustomization folder and parses every object it produces. */
export function renderKustomization(dir: string): K8sObject[] {
  const [command, ...args] = kustomizeCommand();
  const yaml = execFileSync(command, [...args, dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(yaml)) {
    if (document.errors.length > 0) throw new Error(`${dir}: ${document.errors[0]!.message}`);
    const value = document.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}
