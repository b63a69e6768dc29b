import { TOPICS, deadLetterTopic } from '@strata/contracts';
import { loadConfig } from '@strata/platform';
import { DEPLOYABLE_APPS, NOT_DEPLOYED, OVERLAYS, dockerfileOf } from './app-catalog';
import { parseDockerfile } from './dockerfile';
import { validateObject } from './k8s-validate';
import type { K8sObject } from './kustomize';
import { discoverApps } from './paths';
import { field, named, ofKind, renderedOverlays, selects } from './rendered.testing';

type Container = {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: Record<string, { name: string; key: string }> }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: Record<string, unknown>;
};
type Probe = {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
};

const podSpec = (deployment: K8sObject) =>
  field<Record<string, unknown>>(deployment, 'spec', 'template', 'spec');
const podLabels = (deployment: K8sObject) =>
  field<Record<string, string>>(deployment, 'spec', 'template', 'metadata', 'labels');
const containersOf = (deployment: K8sObject) => field<Container[]>(podSpec(deployment), 'containers');

/** The environment a container gets: its own entries plus every key of the ConfigMaps it imports. */
function containerEnv(container: Container, objects: K8sObject[]): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue;
    const configMap = named(objects, 'ConfigMap', source.configMapRef.name);
    for (const [key, value] of Object.entries(field<Record<string, string>>(configMap, 'data') ?? {}))
      env.set(key, value);
  }
  for (const entry of container.env ?? []) env.set(entry.name, entry.valueFrom ? undefined : entry.value);
  return env;
}

describe('every app under apps/', () => {
  it('is deployed or says why not, so a new app cannot ship without manifests', () => {
    const catalogued = new Set([...DEPLOYABLE_APPS.map((app) => app.name), ...Object.keys(NOT_DEPLOYED)]);
    const missing = discoverApps()
      .map((app) => app.name)
      .filter((name) => !catalogued.has(name));
    expect(missing).toEqual([]);
  });
});

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objects = () => renderedOverlays().get(overlay)!;

  it('renders only objects that pass their schema and carry no unknown field', () => {
    expect(objects().length).toBeGreaterThan(0);
    expect(objects().flatMap(validateObject)).toEqual([]);
  });

  it('keeps secrets out of git: no Secret objects, no secret-looking literal values', () => {
    expect(ofKind(objects(), 'Secret')).toEqual([]);
    const literal: string[] = [];
    for (const configMap of ofKind(objects(), 'ConfigMap'))
      for (const key of Object.keys(field<Record<string, string>>(configMap, 'data') ?? {}))
        if (/(SECRET|PASSWORD|TOKEN|_KEY)$/.test(key)) literal.push(`${configMap.metadata.name}: ${key}`);
    for (const deployment of ofKind(objects(), 'Deployment'))
      for (const container of containersOf(deployment))
        for (const entry of container.env ?? [])
          if (
            /(SECRET|PASSWORD|TOKEN|_KEY|DATABASE_URL)$/.test(entry.name) &&
            !entry.valueFrom?.['secretKeyRef']
          )
            literal.push(`${deployment.metadata.name}: ${entry.name}`);
    expect(literal).toEqual([]);
  });

  it('denies all traffic by default', () => {
    const denyAll = ofKind(objects(), 'NetworkPolicy').filter(
      (policy) =>
        Object.keys(field<object>(policy, 'spec', 'podSelector') ?? {}).length === 0 &&
        field<string[]>(policy, 'spec', 'policyTypes').includes('Ingress') &&
        field<string[]>(policy, 'spec', 'policyTypes').includes('Egress') &&
        field(policy, 'spec', 'ingress') === undefined &&
        field(policy, 'spec', 'egress') === undefined,
    );
    expect(denyAll).toHaveLength(1);
  });

  it('gives every container requests, limits, probes and a locked-down non-root security context', () => {
    const problems: string[] = [];
    for (const deployment of ofKind(objects(), 'Deployment')) {
      const pod = podSpec(deployment);
      const podSecurity = field<Record<string, unknown>>(pod, 'securityContext') ?? {};
      for (const container of containersOf(deployment)) {
        const id = `${deployment.metadata.name}/${container.name}`;
        for (const kind of ['requests', 'limits'] as const)
          for (const resource of ['cpu', 'memory'])
            if (!container.resources?.[kind]?.[resource]) problems.push(`${id}: no ${resource} ${kind}`);
        const portNames = new Set((container.ports ?? []).map((port) => port.name));
        const probes = {
          startupProbe: '/health/ready',
          readinessProbe: '/health/ready',
          livenessProbe: '/health/live',
        } as const;
        for (const [probe, path] of Object.entries(probes)) {
          const get = container[probe as keyof typeof probes]?.httpGet;
          if (get?.path !== path) problems.push(`${id}: ${probe} must GET ${path}`);
          else if (!portNames.has(String(get.port)))
            problems.push(`${id}: ${probe} port ${get.port} is not named`);
        }
        // Sized for a model download and load: at least five minutes before liveness takes over.
        const startup = container.startupProbe;
        if ((startup?.periodSeconds ?? 10) * (startup?.failureThreshold ?? 3) < 300)
          problems.push(`${id}: the startup probe allows less than 300 s for the model to load`);
        const security = { ...podSecurity, ...container.securityContext };
        if (security['runAsNonRoot'] !== true) problems.push(`${id}: runAsNonRoot is not true`);
        if (typeof security['runAsUser'] !== 'number' || security['runAsUser'] === 0)
          problems.push(`${id}: runAsUser must be a non-zero UID`);
        if (container.securityContext?.['allowPrivilegeEscalation'] !== false)
          problems.push(`${id}: allowPrivilegeEscalation is not false`);
        if (container.securityContext?.['readOnlyRootFilesystem'] !== true)
          problems.push(`${id}: the root filesystem is not read-only`);
        if (!field<string[]>(container.securityContext, 'capabilities', 'drop')?.includes('ALL'))
          problems.push(`${id}: capabilities are not all dropped`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('matches every selector and reference to an object that exists', () => {
    const problems: string[] = [];
    const deployments = ofKind(objects(), 'Deployment');
    for (const deployment of deployments) {
      const name = deployment.metadata.name;
      const labels = podLabels(deployment);
      if (!selects(field(deployment, 'spec', 'selector', 'matchLabels'), labels))
        problems.push(`${name}: the selector does not match its pod template`);
      const account = field<string>(podSpec(deployment), 'serviceAccountName');
      if (!named(objects(), 'ServiceAccount', account))
        problems.push(`${name}: no ServiceAccount ${account}`);
      for (const constraint of field<{ labelSelector: { matchLabels: Record<string, string> } }[]>(
        podSpec(deployment),
        'topologySpreadConstraints',
      ) ?? [])
        if (!selects(constraint.labelSelector.matchLabels, labels))
          problems.push(`${name}: a topology spread constraint does not select its pods`);
      if (!(field<unknown[]>(podSpec(deployment), 'topologySpreadConstraints')?.length ?? 0))
        problems.push(`${name}: no topology spread constraints`);
      for (const kind of ['PodDisruptionBudget', 'Service'])
        if (
          !ofKind(objects(), kind).some((o) =>
            selects(field(o, 'spec', 'selector', 'matchLabels') ?? field(o, 'spec', 'selector'), labels),
          )
        )
          problems.push(`${name}: no ${kind} selects its pods`);
      if (
        !ofKind(objects(), 'NetworkPolicy').some((policy) =>
          selects(field(policy, 'spec', 'podSelector', 'matchLabels'), labels),
        )
      )
        problems.push(`${name}: no NetworkPolicy of its own`);
      for (const container of containersOf(deployment))
        for (const source of container.envFrom ?? [])
          if (source.configMapRef && !named(objects(), 'ConfigMap', source.configMapRef.name))
            problems.push(`${name}: no ConfigMap ${source.configMapRef.name}`);
      for (const volume of field<Record<string, { claimName?: string; name?: string }>[]>(
        podSpec(deployment),
        'volumes',
      ) ?? []) {
        const claim = volume['persistentVolumeClaim']?.claimName;
        if (claim && !named(objects(), 'PersistentVolumeClaim', claim))
          problems.push(`${name}: no PVC ${claim}`);
      }
    }
    for (const service of ofKind(objects(), 'Service')) {
      const selector = field<Record<string, string>>(service, 'spec', 'selector');
      const targets = deployments.filter((deployment) => selects(selector, podLabels(deployment)));
      if (targets.length === 0)
        problems.push(`Service ${service.metadata.name} selects no Deployment's pods`);
      for (const port of field<{ targetPort: string | number }[]>(service, 'spec', 'ports'))
        for (const target of targets)
          if (
            !containersOf(target).some((c) =>
              c.ports?.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort),
            )
          )
            problems.push(
              `Service ${service.metadata.name}: target port ${port.targetPort} is not a container port`,
            );
    }
    for (const monitor of ofKind(objects(), 'ServiceMonitor')) {
      const services = ofKind(objects(), 'Service').filter((service) =>
        selects(field(monitor, 'spec', 'selector', 'matchLabels'), service.metadata.labels),
      );
      if (services.length === 0) problems.push(`ServiceMonitor ${monitor.metadata.name} selects no Service`);
      for (const endpoint of field<{ port: string }[]>(monitor, 'spec', 'endpoints'))
        for (const service of services)
          if (!field<{ name: string }[]>(service, 'spec', 'ports').some((p) => p.name === endpoint.port))
            problems.push(
              `ServiceMonitor ${monitor.metadata.name}: Service ${service.metadata.name} has no port ${endpoint.port}`,
            );
    }
    expect(problems).toEqual([]);
  });

  it('autoscales on in-flight requests and CPU, with stabilisation windows, on Deployments that exist', () => {
    const problems: string[] = [];
    for (const hpa of ofKind(objects(), 'HorizontalPodAutoscaler')) {
      const name = hpa.metadata.name;
      const target = field<{ kind: string; name: string }>(hpa, 'spec', 'scaleTargetRef');
      if (!named(objects(), target.kind, target.name))
        problems.push(`${name}: no ${target.kind} ${target.name}`);
      const metrics = field<Record<string, { metric?: { name: string }; name?: string }>[]>(
        hpa,
        'spec',
        'metrics',
      );
      if (!metrics.some((m) => m['pods']?.metric?.name === 'in_flight_requests'))
        problems.push(`${name}: no Pods metric on in_flight_requests`);
      if (!metrics.some((m) => m['resource']?.name === 'cpu')) problems.push(`${name}: no CPU metric`);
      for (const direction of ['scaleUp', 'scaleDown'])
        if (typeof field(hpa, 'spec', 'behavior', direction, 'stabilizationWindowSeconds') !== 'number')
          problems.push(`${name}: no ${direction} stabilisation window`);
      if (field<number>(hpa, 'spec', 'minReplicas') > field<number>(hpa, 'spec', 'maxReplicas'))
        problems.push(`${name}: minReplicas above maxReplicas`);
    }
    // Every Deployment that may run more than one replica is scaled by exactly one HPA or ScaledObject.
    for (const deployment of ofKind(objects(), 'Deployment')) {
      if (field(deployment, 'spec', 'strategy', 'type') === 'Recreate') continue;
      const scalers = [
        ...ofKind(objects(), 'HorizontalPodAutoscaler'),
        ...ofKind(objects(), 'ScaledObject'),
      ].filter((scaler) => field(scaler, 'spec', 'scaleTargetRef', 'name') === deployment.metadata.name);
      if (scalers.length !== 1)
        problems.push(
          `${deployment.metadata.name}: scaled by ${scalers.length} autoscalers, not exactly one`,
        );
    }
    for (const scaled of ofKind(objects(), 'ScaledObject')) {
      const target = field<{ name: string; kind?: string }>(scaled, 'spec', 'scaleTargetRef');
      if (!named(objects(), target.kind ?? 'Deployment', target.name))
        problems.push(
          `ScaledObject ${scaled.metadata.name}: no ${target.kind ?? 'Deployment'} ${target.name}`,
        );
    }
    expect(problems).toEqual([]);
  });

  it('declares a Kafka topic and a dead-letter topic for every contract topic when a service uses Kafka', () => {
    const usesKafka = ofKind(objects(), 'ConfigMap').some((c) => field(c, 'data', 'EVENT_BUS') === 'kafka');
    const declared = ofKind(objects(), 'KafkaTopic').map((topic) =>
      field<string>(topic, 'spec', 'topicName'),
    );
    const expected = usesKafka
      ? Object.values(TOPICS).flatMap((topic) => [topic.name, deadLetterTopic(topic).name])
      : [];
    expect([...declared].sort()).toEqual([...expected].sort());
  });
});

describe.each(DEPLOYABLE_APPS.flatMap((app) => app.overlays.map((overlay) => [app.name, overlay] as const)))(
  '%s in overlay %s',
  (appName, overlay) => {
    const app = DEPLOYABLE_APPS.find((candidate) => candidate.name === appName)!;
    const objects = () => renderedOverlays().get(overlay)!;
    const container = () => {
      const deployment = named(objects(), 'Deployment', appName);
      expect(deployment).toBeDefined();
      const found = containersOf(deployment!).find((c) => c.name === appName);
      expect(found).toBeDefined();
      return found!;
    };

    it('sets every variable of its configuration schema, and the set validates', () => {
      const env = containerEnv(container(), objects());
      const unset = app.unset ?? {};
      const missing = Object.keys(app.envSchema.shape).filter((key) => !env.has(key) && !(key in unset));
      expect(missing).toEqual([]);
      // A variable left unset on purpose must exist in the schema and must really be unset.
      expect(Object.keys(unset).filter((key) => !(key in app.envSchema.shape) || env.has(key))).toEqual([]);
      // Secrets come from secretKeyRef: stand in well-formed values to validate the rest.
      const placeholders: Record<string, string> = {
        DATABASE_URL: 'postgres://strata:secret@postgres:5432/strata',
        STRATA_ADMIN_KEY: 'x'.repeat(48),
      };
      const values = Object.fromEntries(
        [...env].map(([key, value]) => [key, value ?? placeholders[key]]).filter(([, v]) => v !== undefined),
      );
      expect(() => loadConfig(app.envSchema, values)).not.toThrow();
    });

    it('targets fewer in-flight requests per pod than one batch holds (services that batch)', () => {
      const hpa = named(objects(), 'HorizontalPodAutoscaler', appName);
      if (!hpa) return;
      const env = containerEnv(container(), objects());
      const target = field<{ pods?: { metric: { name: string }; target: { averageValue: string } } }[]>(
        hpa,
        'spec',
        'metrics',
      ).find((metric) => metric.pods?.metric.name === 'in_flight_requests');
      expect(Number(target?.pods?.target.averageValue)).toBeLessThanOrEqual(
        Number(env.get('MAX_BATCH_SIZE')),
      );
    });

    it('scales on the lag of every consumer group it reads, at the brokers it uses (workers)', () => {
      const scaled = named(objects(), 'ScaledObject', appName);
      if (app.consumerGroups.length === 0) {
        expect(scaled).toBeUndefined();
        return;
      }
      const env = containerEnv(container(), objects());
      const triggers = field<{ type: string; metadata: Record<string, string> }[]>(
        scaled,
        'spec',
        'triggers',
      );
      const kafka = triggers.filter((trigger) => trigger.type === 'kafka');
      expect(kafka.map((t) => ({ group: t.metadata['consumerGroup'], topic: t.metadata['topic'] }))).toEqual(
        expect.arrayContaining(app.consumerGroups),
      );
      for (const trigger of kafka)
        expect(trigger.metadata['bootstrapServers']).toBe(env.get('KAFKA_BROKERS'));
      // More replicas than partitions would sit idle.
      const partitions = Math.min(
        ...app.consumerGroups.map(({ topic }) => {
          const declared = ofKind(objects(), 'KafkaTopic').find(
            (t) => field(t, 'spec', 'topicName') === topic,
          );
          return field<number>(declared, 'spec', 'partitions');
        }),
      );
      expect(field<number>(scaled, 'spec', 'maxReplicaCount')).toBeLessThanOrEqual(partitions);
    });

    it('exposes the port it listens on, in the container, the Service and the image', () => {
      const env = containerEnv(container(), objects());
      const port = Number(env.get('PORT'));
      expect(container().ports?.find((p) => p.name === 'http')?.containerPort).toBe(port);
      const runtime = parseDockerfile(dockerfileOf(appName)).at(-1)!;
      const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => Number(i.args));
      expect(exposed).toEqual([port]);
    });
  },
);

describe('the validator', () => {
  const deployment = (): K8sObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x', labels: { a: 'b' } },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: {
        metadata: { labels: { a: 'b' } },
        spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '1' } } }] },
      },
    },
  });

  it('accepts a valid object with maps of any keys', () => {
    expect(validateObject(deployment())).toEqual([]);
  });

  it('rejects a field the schema does not know, wherever it is', () => {
    const object = deployment();
    field<Record<string, unknown>[]>(object, 'spec', 'template', 'spec', 'containers')[0]!['resorces'] = {};
    expect(validateObject(object)).toEqual([
      'Deployment/x: unknown field /spec/template/spec/containers/0/resorces',
    ]);
  });

  it('rejects a value of the wrong type', () => {
    const object = deployment();
    (object['spec'] as Record<string, unknown>)['replicas'] = 'two';
    expect(validateObject(object).join('\n')).toMatch(/replicas/);
  });

  it('rejects a KafkaTopic with an unknown field and a kind with no schema', () => {
    const topic: K8sObject = {
      apiVersion: 'kafka.strimzi.io/v1beta2',
      kind: 'KafkaTopic',
      metadata: { name: 't', labels: { 'strimzi.io/cluster': 'c' } },
      spec: { partitions: 1, replicas: 1, retention: 5 },
    };
    expect(validateObject(topic).join('\n')).toMatch(/retention/);
    expect(validateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } })).toEqual([
      'Pod/p: no schema for v1/Pod; add one before deploying this kind',
    ]);
  });
});
