import type { CountryCode } from 'libphonenumber-js/max';
import { anonymize } from './anonymizer';
import { Blocklist } from './blocklist';
import { GuardrailError } from './guardrail-error';
import type { GuardrailMode, GuardrailPhase, GuardrailPolicy, GuardrailRule } from './guardrail-policy';
import { exceedsCharacters, truncateCharacters } from './length-limit';
import type { TypedSpan } from './overlap-resolution';
import { PiiAnalyzer } from './pii-analyzer';
import { PII_ENTITY_TYPES, type PiiEntityType } from './pii-entities';
import { detectPromptInjection } from './prompt-injection';

/** The placeholder type for blocklist hits: `<BLOCKLIST>`. */
export const BLOCKLIST_ENTITY = 'BLOCKLIST';
/** The placeholder type for masked injection phrases: `<PROMPT_INJECTION>`. */
export const PROMPT_INJECTION_ENTITY = 'PROMPT_INJECTION';

/** One rule that fired: how often, and what was done about it. Safe to record: it holds no matched text. */
export interface GuardrailAction {
  rule: GuardrailRule;
  /** For `pii`: the entity type. */
  entity_type?: PiiEntityType;
  mode: GuardrailMode;
  /** Findings (pii, blocklist), matched patterns (prompt_injection), or 1 (length). */
  count: number;
  /** For `prompt_injection`: the score that reached the threshold. */
  score?: number;
}

/** Why the text may not go on: the caller answers 422 with `message`, naming `rule`. */
export interface GuardrailBlock {
  rule: GuardrailRule;
  entity_type?: PiiEntityType;
  phase: GuardrailPhase;
  message: string;
}

export interface GuardrailResult {
  /**
   * The text to pass on: spans of mask-mode rules replaced by typed placeholders (`<EMAIL_ADDRESS>`),
   * then cut to `max_chars` by a mask-mode length limit. When `blocked` is set, this is the text to
   * record instead: block-mode findings are masked too, and a blocking length limit keeps only the first
   * `max_chars`.
   */
  text: string;
  /** Every rule that fired, in rule order (length, prompt_injection, blocklist, pii by entity type). */
  actions: GuardrailAction[];
  /** Set when a block-mode rule fired; the first in rule order. */
  blocked?: GuardrailBlock;
}

interface PiiPhaseRules {
  modes: Map<PiiEntityType, GuardrailMode>;
  entities: PiiEntityType[];
}

/** Characters scanned past a length limit's cut: more than the longest entity (an e-mail address, 254). */
const TRUNCATION_SCAN_MARGIN = 256;

const PHASE_WORD: Record<GuardrailPhase, string> = { input: 'Input', output: 'Output' };

function blockMessage(phase: GuardrailPhase, rule: GuardrailRule, detail: string): string {
  return `${PHASE_WORD[phase]} blocked by guardrail rule '${rule}': ${detail}.`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * A policy compiled for repeated use: the PII analyzer, the blocklist expression and the per-phase rule
 * tables are built once. Stateless after construction, so one instance serves concurrent requests.
 */
export class CompiledGuardrails {
  private readonly analyzer: PiiAnalyzer | undefined;
  private readonly pii: Record<GuardrailPhase, PiiPhaseRules>;
  private readonly blocklist: Blocklist | undefined;

  constructor(readonly policy: GuardrailPolicy) {
    this.pii = { input: { modes: new Map(), entities: [] }, output: { modes: new Map(), entities: [] } };
    for (const rule of policy.pii?.rules ?? []) {
      for (const phase of rule.phases) {
        for (const entityType of rule.entity_types) this.pii[phase].modes.set(entityType, rule.mode);
      }
    }
    for (const phase of ['input', 'output'] as const) {
      this.pii[phase].entities = PII_ENTITY_TYPES.filter((type) => this.pii[phase].modes.has(type));
    }
    this.analyzer =
      policy.pii === undefined
        ? undefined
        : new PiiAnalyzer({
            personNames: policy.pii.person_names,
            defaultPersonNames: policy.pii.default_person_names,
            scoreThreshold: policy.pii.score_threshold,
            ...(policy.pii.phone_regions === undefined
              ? {}
              : { phoneRegions: policy.pii.phone_regions as CountryCode[] }),
          });
    const entries = policy.blocklist;
    this.blocklist =
      entries === undefined ? undefined : new Blocklist({ terms: entries.terms, patterns: entries.patterns });
  }

  /** Whether any rule of the policy applies in `phase`; without one, `apply` returns every text unchanged. */
  hasRules(phase: GuardrailPhase): boolean {
    const { length, prompt_injection: injection, blocklist } = this.policy;
    return (
      length?.[phase] !== undefined ||
      (injection?.phases.includes(phase) ?? false) ||
      (this.blocklist !== undefined && (blocklist?.phases.includes(phase) ?? false)) ||
      (this.analyzer !== undefined && this.pii[phase].entities.length > 0)
    );
  }

  /**
   * Whether a capitalised run that begins with `word` could still grow into a PII finding in `phase`: a
   * streaming guard holds such runs back until they end, and releases capitalised words that cannot begin one.
   */
  mayBeginPersonName(word: string, phase: GuardrailPhase): boolean {
    if (this.analyzer === undefined || this.pii[phase].entities.length === 0) return false;
    return this.analyzer.mayBeginPersonName(word);
  }

  /** Applies the policy's rules for `phase` to `text`. */
  apply(text: string, phase: GuardrailPhase): GuardrailResult {
    const actions: GuardrailAction[] = [];
    const blocks: GuardrailBlock[] = [];
    const masked: TypedSpan[] = [];
    const blockedSpans: TypedSpan[] = [];
    let subject = text;
    let truncateTo: number | undefined;

    const limit = this.policy.length?.[phase];
    if (limit !== undefined && exceedsCharacters(subject, limit.max_chars)) {
      actions.push({ rule: 'length', mode: limit.mode, count: 1 });
      if (limit.mode === 'block') {
        blocks.push({
          rule: 'length',
          phase,
          message: blockMessage(phase, 'length', `longer than ${limit.max_chars} characters`),
        });
      }
      if (limit.mode !== 'log') {
        // Scan a little past the cut, so an entity that straddles it is still masked, but no further:
        // a huge input costs no more than one at the limit.
        subject = truncateCharacters(subject, limit.max_chars + TRUNCATION_SCAN_MARGIN);
        truncateTo = limit.max_chars;
      }
    }

    const injection = this.policy.prompt_injection;
    if (injection !== undefined && injection.phases.includes(phase)) {
      const result = detectPromptInjection(subject, { threshold: injection.threshold });
      if (result.detected) {
        const patterns = new Set(result.matches.map((match) => match.pattern));
        actions.push({
          rule: 'prompt_injection',
          mode: injection.mode,
          count: patterns.size,
          score: result.score,
        });
        const spans = result.matches.map((match) => ({
          entity_type: PROMPT_INJECTION_ENTITY,
          start: match.start,
          end: match.end,
          score: 1,
        }));
        if (injection.mode === 'mask') masked.push(...spans);
        if (injection.mode === 'block') {
          blockedSpans.push(...spans);
          blocks.push({
            rule: 'prompt_injection',
            phase,
            message: blockMessage(
              phase,
              'prompt_injection',
              `looks like a prompt injection (score ${result.score}, ${[...patterns].sort().join(', ')})`,
            ),
          });
        }
      }
    }

    const blocklistPolicy = this.policy.blocklist;
    if (
      this.blocklist !== undefined &&
      blocklistPolicy !== undefined &&
      blocklistPolicy.phases.includes(phase)
    ) {
      const hits = this.blocklist.find(subject);
      if (hits.length > 0) {
        actions.push({ rule: 'blocklist', mode: blocklistPolicy.mode, count: hits.length });
        const spans = hits.map((hit) => ({
          entity_type: BLOCKLIST_ENTITY,
          start: hit.start,
          end: hit.end,
          score: 1,
        }));
        if (blocklistPolicy.mode === 'mask') masked.push(...spans);
        if (blocklistPolicy.mode === 'block') {
          blockedSpans.push(...spans);
          blocks.push({
            rule: 'blocklist',
            phase,
            message: blockMessage(phase, 'blocklist', `contains ${plural(hits.length, 'blocked term')}`),
          });
        }
      }
    }

    const piiRules = this.pii[phase];
    if (this.analyzer !== undefined && piiRules.entities.length > 0) {
      const findings = this.analyzer.analyze(subject, { entities: piiRules.entities });
      const counts = new Map<PiiEntityType, number>();
      for (const finding of findings) {
        counts.set(finding.entity_type, (counts.get(finding.entity_type) ?? 0) + 1);
        const mode = piiRules.modes.get(finding.entity_type);
        if (mode === 'mask') masked.push(finding);
        if (mode === 'block') blockedSpans.push(finding);
      }
      for (const entityType of piiRules.entities) {
        const count = counts.get(entityType);
        const mode = piiRules.modes.get(entityType);
        if (count === undefined || mode === undefined) continue;
        actions.push({ rule: 'pii', entity_type: entityType, mode, count });
        if (mode === 'block') {
          blocks.push({
            rule: 'pii',
            entity_type: entityType,
            phase,
            message: blockMessage(phase, 'pii', `contains ${plural(count, entityType)}`),
          });
        }
      }
    }

    const blocked = blocks[0];
    const spans = blocked === undefined ? masked : [...masked, ...blockedSpans];
    let output = spans.length === 0 ? subject : anonymize(subject, spans).text;
    if (truncateTo !== undefined) output = truncateCharacters(output, truncateTo);
    return blocked === undefined ? { text: output, actions } : { text: output, actions, blocked };
  }
}

const compiledPolicies = new WeakMap<GuardrailPolicy, CompiledGuardrails>();

/** Compiles `policy` for repeated use; see CompiledGuardrails. */
export function compileGuardrailPolicy(policy: GuardrailPolicy): CompiledGuardrails {
  return new CompiledGuardrails(policy);
}

/**
 * Applies a validated policy (see parseGuardrailPolicy) to `text` in `phase`. The compiled form is cached
 * per policy object, so callers that keep their parsed policies pay the compilation once.
 */
export function applyGuardrails(
  text: string,
  policy: GuardrailPolicy,
  phase: GuardrailPhase,
): GuardrailResult {
  let compiled = compiledPolicies.get(policy);
  if (compiled === undefined) {
    compiled = new CompiledGuardrails(policy);
    compiledPolicies.set(policy, compiled);
  }
  return compiled.apply(text, phase);
}

/** The domain error for a blocked result, for callers that throw: code `guardrail_blocked` (HTTP 422). */
export function guardrailBlockedError(blocked: GuardrailBlock): GuardrailError {
  return new GuardrailError('guardrail_blocked', blocked.message, {
    rule: blocked.rule,
    phase: blocked.phase,
    ...(blocked.entity_type === undefined ? {} : { entityType: blocked.entity_type }),
  });
}
