/**
 * Prints the PII detectors' precision, recall and F1 per entity type on the labelled set:
 *
 *   node dist/guardrails/evaluate-pii.js [--data file.jsonl] [--names names.txt] [--json]
 */
import {
  DEFAULT_LABELLED_SET,
  DEFAULT_PERSON_NAMES,
  evaluateDefaultAnalyzer,
  formatEvaluationTable,
} from './pii-evaluation';

function main(argv: readonly string[]): number {
  let dataPath = DEFAULT_LABELLED_SET;
  let namesPath = DEFAULT_PERSON_NAMES;
  let json = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--json') json = true;
    else if (argument === '--data' && argv[index + 1] !== undefined) dataPath = argv[++index] ?? dataPath;
    else if (argument === '--names' && argv[index + 1] !== undefined) namesPath = argv[++index] ?? namesPath;
    else {
      process.stderr.write('usage: evaluate-pii [--data file.jsonl] [--names names.txt] [--json]\n');
      return 2;
    }
  }
  const evaluation = evaluateDefaultAnalyzer({ dataPath, namesPath });
  process.stdout.write(
    json ? `${JSON.stringify(evaluation, null, 2)}\n` : `${formatEvaluationTable(evaluation)}\n`,
  );
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`evaluate-pii: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
