import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AdminApiError, UnreachableError } from '../admin-client';
import { DEFAULT_URL, UsageError, type CliEnvironment } from '../command-line';

interface FeedbackExample {
  feedback_id: string;
  generation_id: string;
  model: { name: string; version: string };
  rating: string;
  score: number | null;
  prompt: string;
  answer: string;
  correction: string | null;
}

/**
 * `strata data ingest --from-feedback`: downloads the server's rated prompt/answer pairs (`GET /feedback/export`)
 * and writes them as a JSONL input for the `generic` profile, one record per rating: the prompt followed by the
 * correction when there is one, else the rated answer. Each record keeps the model version that produced the
 * answer, and the file is named after those versions, so the dataset's lineage leads back to them.
 */
export async function feedbackInput(
  values: Record<string, string | boolean | undefined>,
  env: CliEnvironment,
): Promise<{ file: string; examples: number }> {
  const url =
    (typeof values['url'] === 'string' ? values['url'] : undefined) ?? env.STRATA_URL ?? DEFAULT_URL;
  const key = (typeof values['key'] === 'string' ? values['key'] : undefined) ?? env.STRATA_KEY;
  if (!key)
    throw new UsageError('--from-feedback needs --key or STRATA_KEY (an ml-engineer key)', 'data ingest');
  let response: Response;
  try {
    response = await fetch(new URL('feedback/export', url.endsWith('/') ? url : `${url}/`), {
      headers: { authorization: `Bearer ${key}` },
    });
  } catch (error) {
    throw new UnreachableError(url, String((error as { cause?: unknown }).cause ?? error));
  }
  const text = await response.text();
  if (!response.ok) {
    let body: { error?: { code?: string; message?: string } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON
    }
    throw new AdminApiError(
      response.status,
      body.error?.code ?? 'unexpected_response',
      body.error?.message ?? text,
    );
  }
  const examples = text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as FeedbackExample);
  if (examples.length === 0) throw new Error('the server has no rated generations to ingest yet');
  const models = [
    ...new Set(examples.map((e) => `${e.model.name}-v${e.model.version}`.replace(/[^A-Za-z0-9._-]/g, '_'))),
  ];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strata-feedback-'));
  const file = path.join(dir, `feedback-${models.join('+').slice(0, 150)}.jsonl`);
  const lines = examples.map((e) =>
    JSON.stringify({
      id: e.feedback_id,
      text: `${e.prompt}\n${e.correction ?? e.answer}`,
      generation_id: e.generation_id,
      model: e.model.name,
      model_version: e.model.version,
      rating: e.rating,
      score: e.score,
      corrected: e.correction !== null,
    }),
  );
  await writeFile(file, `${lines.join('\n')}\n`);
  return { file, examples: examples.length };
}
