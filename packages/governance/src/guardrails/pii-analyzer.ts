import type { CountryCode } from 'libphonenumber-js/max';
import { recognizeCreditCards } from './credit-card-recognizer';
import { recognizeEmailAddresses } from './email-recognizer';
import { recognizeIbans } from './iban-recognizer';
import { recognizeIpAddresses } from './ip-address-recognizer';
import { resolveOverlaps } from './overlap-resolution';
import { DefaultPersonRecognizer } from './default-person-recognizer';
import { PersonNameList } from './person-recognizer';
import { DEFAULT_PHONE_REGIONS, recognizePhoneNumbers } from './phone-number-recognizer';
import { PII_ENTITY_TYPES, type PiiEntityType, type PiiFinding } from './pii-entities';
import { recognizeUsSsns } from './us-ssn-recognizer';

/** Findings scoring below this are dropped unless the caller sets another threshold. */
export const DEFAULT_SCORE_THRESHOLD = 0.5;

export interface PiiAnalyzerOptions {
  /** Names for the `PERSON` recognizer: a tenant's contacts, employees or customers. */
  personNames?: Iterable<string>;
  /**
   * Also find names with the shipped census tables and context rules ({@link DefaultPersonRecognizer}); on by
   * default, so that PERSON is masked without configuration.
   */
  defaultPersonNames?: boolean;
  /** Regions whose national phone formats are accepted (ISO 3166-1 alpha-2); see DEFAULT_PHONE_REGIONS. */
  phoneRegions?: readonly CountryCode[];
  /** Minimum score a finding needs; DEFAULT_SCORE_THRESHOLD when absent. */
  scoreThreshold?: number;
}

export interface AnalyzeOptions {
  /** The entity types to look for; all of them when absent. */
  entities?: readonly PiiEntityType[];
  /** Overrides the analyzer's threshold for this call. */
  scoreThreshold?: number;
  /** Puts the matched text on each finding. Off by default so findings can be logged safely. */
  returnText?: boolean;
}

/**
 * Finds PII in text, as Presidio's AnalyzerEngine does: every recognizer runs, findings under the score
 * threshold are dropped, and overlapping findings are resolved (higher score, then longer span) so that
 * each character belongs to at most one finding. Deterministic, and cheap enough to run on every request:
 * build one analyzer per configuration and reuse it (the name list is compiled once).
 */
export class PiiAnalyzer {
  private readonly personNames: PersonNameList;
  private readonly defaultPersonNames: DefaultPersonRecognizer | undefined;
  private readonly phoneRegions: readonly CountryCode[];
  private readonly scoreThreshold: number;

  constructor(options: PiiAnalyzerOptions = {}) {
    this.personNames = new PersonNameList(options.personNames ?? []);
    this.defaultPersonNames =
      options.defaultPersonNames === false ? undefined : DefaultPersonRecognizer.shared();
    this.phoneRegions = options.phoneRegions ?? DEFAULT_PHONE_REGIONS;
    this.scoreThreshold = options.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD;
  }

  /**
   * Whether a PERSON finding could begin in `word` (see {@link DefaultPersonRecognizer.mayBeginName}); always
   * false without the default recognizer, whose capitalised runs are the only findings that span words of
   * letters (listed names are matched as whole terms).
   */
  mayBeginPersonName(word: string): boolean {
    return this.defaultPersonNames?.mayBeginName(word) ?? false;
  }

  /** The findings in `text`, in text order, without overlaps. */
  analyze(text: string, options: AnalyzeOptions = {}): PiiFinding[] {
    const wanted = new Set<PiiEntityType>(options.entities ?? PII_ENTITY_TYPES);
    const threshold = options.scoreThreshold ?? this.scoreThreshold;
    const raw: PiiFinding[] = [];
    // Every recognizer runs, even for unwanted types, so that a stronger finding of an unwanted type still
    // hides a weaker wanted one: asking for PERSON alone does not mask `anna` inside anna@example.com.
    raw.push(...recognizeCreditCards(text));
    raw.push(...recognizeIbans(text));
    raw.push(...recognizeUsSsns(text));
    raw.push(...recognizeEmailAddresses(text));
    raw.push(...recognizeIpAddresses(text));
    raw.push(...recognizePhoneNumbers(text, { regions: this.phoneRegions, minScore: threshold }));
    raw.push(...this.personNames.recognize(text));
    if (this.defaultPersonNames) raw.push(...this.defaultPersonNames.recognize(text));
    const resolved = resolveOverlaps(raw.filter((finding) => finding.score >= threshold));
    const findings = resolved.filter((finding) => wanted.has(finding.entity_type));
    if (options.returnText === true) {
      for (const finding of findings) finding.text = text.slice(finding.start, finding.end);
    }
    return findings;
  }
}
