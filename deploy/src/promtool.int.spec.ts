import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { PROMETHEUS_RULE_FILE, PROMTOOL_TESTS_FILE } from './paths';
import { field } from './rendered.testing';

/** The PrometheusRule's groups as a plain Prometheus rule file, beside a copy of the promtool tests. */
function stageRules(mutate?: (groups: { rules: Record<string, unknown>[] }[]) => void): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-promtool-'));
  const groups = field<{ rules: Record<string, unknown>[] }[]>(
    parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')),
    'spec',
    'groups',
  );
  mutate?.(groups);
  writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups }));
  copyFileSync(PROMTOOL_TESTS_FILE, path.join(dir, 'alerts.test.yaml'));
  return dir;
}

function promtool(dir: string, ...args: string[]): { code: number; output: string } {
  try {
    const output = execFileSync('promtool', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, output };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { code: failed.status, output: `${failed.stdout}${failed.stderr}` };
  }
}

describe('the PrometheusRule under promtool', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('passes `promtool check rules`', () => {
    const dir = stageRules();
    dirs.push(dir);
    const result = promtool(dir, 'check', 'rules', 'rules.yaml');
    expect(result).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('passes `promtool test rules`: every alert fires on a faulty series and stays silent on a healthy one', () => {
    const dir = stageRules();
    dirs.push(dir);
    const tests = parse(readFileSync(PROMTOOL_TESTS_FILE, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((test) => test.alert_rule_test);
    const alerts = field<{ rules: { alert?: string }[] }[]>(
      parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')),
      'spec',
      'groups',
    ).flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])));
    for (const alert of alerts) {
      const own = cases.filter((c) => c.alertname === alert);
      expect({ alert, fires: own.some((c) => c.exp_alerts.length > 0) }).toEqual({ alert, fires: true });
      expect({ alert, silent: own.some((c) => c.exp_alerts.length === 0) }).toEqual({ alert, silent: true });
    }
    const result = promtool(dir, 'test', 'rules', 'alerts.test.yaml');
    expect(result).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('fails `promtool test rules` when a threshold changes, so the tests do constrain the rules', () => {
    const dir = stageRules((groups) => {
      for (const group of groups)
        for (const rule of group.rules)
          if (rule['alert'] === 'StrataOutboxBacklog')
            rule['expr'] = String(rule['expr']).replace('300', '3000');
    });
    dirs.push(dir);
    const result = promtool(dir, 'test', 'rules', 'alerts.test.yaml');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('StrataOutboxBacklog');
  });
});
