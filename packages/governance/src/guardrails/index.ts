/**
 * Guardrails: PII detection and masking, blocklist, prompt-injection heuristics and length limits, and the
 * engine that applies a tenant's policy to a prompt or a generation. One detector library, used by the API
 * guardrails and by the data layer's redaction.
 */
export { anonymize, placeholderFor } from './anonymizer';
export type { AnonymizedItem, AnonymizeOptions, AnonymizeResult } from './anonymizer';
export { Blocklist, blocklistPatternProblem } from './blocklist';
export type { BlocklistEntries, BlocklistMatch } from './blocklist';
export { cardNetworkOf, isValidCardNumber, luhnCheck, recognizeCreditCards } from './credit-card-recognizer';
export { recognizeEmailAddresses } from './email-recognizer';
export {
  applyGuardrails,
  BLOCKLIST_ENTITY,
  CompiledGuardrails,
  compileGuardrailPolicy,
  guardrailBlockedError,
  PROMPT_INJECTION_ENTITY,
} from './guardrail-engine';
export type { GuardrailAction, GuardrailBlock, GuardrailResult } from './guardrail-engine';
export { GuardrailError } from './guardrail-error';
export {
  BlocklistPolicySchema,
  GUARDRAIL_MODES,
  GUARDRAIL_PHASES,
  GUARDRAIL_RULES,
  GuardrailModeSchema,
  GuardrailPhaseSchema,
  GuardrailPolicySchema,
  LengthLimitSchema,
  LengthPolicySchema,
  parseGuardrailPolicy,
  PiiPolicySchema,
  PiiRuleSchema,
  PromptInjectionPolicySchema,
} from './guardrail-policy';
export type {
  GuardrailMode,
  GuardrailPhase,
  GuardrailPolicy,
  GuardrailPolicyInput,
  GuardrailRule,
} from './guardrail-policy';
export { recognizeIbans } from './iban-recognizer';
export { recognizeIpAddresses } from './ip-address-recognizer';
export { characterCount, exceedsCharacters, truncateCharacters } from './length-limit';
export { compareForResolution, resolveOverlaps } from './overlap-resolution';
export type { TypedSpan } from './overlap-resolution';
export { PersonNameList } from './person-recognizer';
export { DEFAULT_PERSON_NAMES_FILE, DefaultPersonRecognizer } from './default-person-recognizer';
export { DEFAULT_PHONE_REGIONS, recognizePhoneNumbers } from './phone-number-recognizer';
export type { PhoneRecognizerOptions } from './phone-number-recognizer';
export { DEFAULT_SCORE_THRESHOLD, PiiAnalyzer } from './pii-analyzer';
export type { AnalyzeOptions, PiiAnalyzerOptions } from './pii-analyzer';
export { PII_ENTITY_TYPES, PiiEntityTypeSchema } from './pii-entities';
export type { PiiEntityType, PiiFinding } from './pii-entities';
export {
  DEFAULT_LABELLED_SET,
  DEFAULT_PERSON_NAMES,
  evaluateDefaultAnalyzer,
  evaluatePii,
  formatEvaluationTable,
  LabelledSampleSchema,
  loadLabelledSet,
  loadPersonNames,
} from './pii-evaluation';
export type { EntityMetrics, LabelledSample, MatchCounts, PiiEvaluation } from './pii-evaluation';
export { DEFAULT_INJECTION_THRESHOLD, detectPromptInjection, INJECTION_PATTERNS } from './prompt-injection';
export type { InjectionMatch, InjectionOptions, InjectionPattern, InjectionResult } from './prompt-injection';
export { isValidUsSsn, recognizeUsSsns } from './us-ssn-recognizer';
