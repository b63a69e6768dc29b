import { readFileSync } from 'node:fs';

/** One instruction of a Dockerfile, continuation lines joined. */
export interface DockerInstruction {
  keyword: string;
  /** The text after the keyword. */
  args: string;
  line: number;
}

/** A build stage: its `FROM` and the instructions up to the next one. */
export interface DockerStage {
  from: string;
  name: string | undefined;
  instructions: DockerInstruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(file: string): DockerStage[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const instructions: DockerInstruction[] = [];
  let pending: { text: string; line: number } | undefined;
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (pending !== undefined && trimmed.startsWith('#')) return;
    const text = trimmed.endsWith('\\') ? trimmed.slice(0, -1).trimEnd() : trimmed;
    pending = pending ? { text: `${pending.text} ${text}`, line: pending.line } : { text, line: index + 1 };
    if (!trimmed.endsWith('\\')) {
      const match = /^(\S+)\s*(.*)$/.exec(pending.text);
      if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: pending.line });
      pending = undefined;
    }
  });
  if (pending) throw new Error(`${file}: the last instruction ends with a line continuation`);
  const stages: DockerStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`${file}:${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ from: match[1]!, name: match[2], instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG')
        throw new Error(`${file}:${instruction.line}: instruction before FROM`);
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return stages;
}

/** A COPY's options, sources and destination (shell form; JSON form too). */
export function parseCopy(args: string): {
  from: string | undefined;
  sources: string[];
  destination: string;
} {
  const words = args.trim().startsWith('[') ? (JSON.parse(args) as string[]) : args.trim().split(/\s+/);
  const options = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  if (paths.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  const from = options.find((option) => option.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), destination: paths[paths.length - 1]! };
}

/** The exec-form array of CMD, ENTRYPOINT or HEALTHCHECK's CMD. */
export function execForm(args: string): string[] {
  const start = args.indexOf('[');
  if (start < 0) throw new Error(`expected an exec-form (JSON array) command: ${args}`);
  return JSON.parse(args.slice(start)) as string[];
}

/** `ENV` pairs (the `KEY=value KEY2=value2` form). */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const value = match[2]!;
    env[match[1]!] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return env;
}
