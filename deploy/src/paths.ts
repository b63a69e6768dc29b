import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root (the Docker build context) and the deploy folder. */
export const REPO_ROOT = path.resolve(__dirname, '../..');
export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');
export const K8S_DIR = path.join(DEPLOY_DIR, 'k8s');
export const DOCKER_DIR = path.join(DEPLOY_DIR, 'docker');
export const DASHBOARDS_DIR = path.join(K8S_DIR, 'base/monitoring/dashboards');
export const PROMETHEUS_RULE_FILE = path.join(K8S_DIR, 'base/monitoring/prometheus-rule.yaml');
export const PROMTOOL_TESTS_FILE = path.join(DEPLOY_DIR, 'prometheus/alerts.test.yaml');
export const ADAPTER_VALUES_FILE = path.join(DEPLOY_DIR, 'prometheus-adapter/values.yaml');

/** Every folder under apps/ that holds a package, by folder name. */
export function discoverApps(): { dir: string; name: string; packageName: string }[] {
  const appsDir = path.join(REPO_ROOT, 'apps');
  return readdirSync(appsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(appsDir, entry.name, 'package.json')))
    .map((entry) => {
      const dir = path.join(appsDir, entry.name);
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string };
      return { dir, name: entry.name, packageName: pkg.name };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
