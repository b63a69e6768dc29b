/**
 * Prompt-injection heuristics: weighted patterns for the phrasings that known attacks use. A heuristic
 * catches the common, copy-pasted attacks cheaply and deterministically; it does not catch a determined
 * attacker who paraphrases, which needs a classifier model. Weights say how rarely a pattern appears in
 * benign text: a chat-template token almost never does, "no restrictions" often does.
 *
 * | id                           | weight | what it matches                                                                |
 * | ---------------------------- | ------ | ------------------------------------------------------------------------------ |
 * | ignore_previous_instructions | 0.9    | "ignore / disregard / forget (all) previous / prior / above instructions"      |
 * | ignore_text_above            | 0.45   | "ignore / forget everything above" (also said in benign e-mails)               |
 * | disregard_system_prompt      | 0.9    | "ignore / bypass the system prompt / your guidelines / safety filters"         |
 * | reveal_system_prompt         | 0.8    | "reveal / print / repeat your system prompt / hidden instructions"             |
 * | repeat_text_above            | 0.6    | "repeat everything / the words above", "what was written above this"           |
 * | role_play_jailbreak          | 0.8    | "you are now DAN / an unrestricted AI", "jailbreak mode enabled"               |
 * | developer_mode               | 0.4    | "Developer Mode enabled" (phones have a real developer mode)                   |
 * | do_anything_now              | 0.7    | "Do Anything Now", "DAN mode", "jailbreak mode"                                |
 * | pretend_no_rules             | 0.6    | "pretend / act as if you have no rules / restrictions / filters"               |
 * | chat_template_token          | 0.9    | `<\|im_start\|>system`, `<\|system\|>`, `[INST]`, `<<SYS>>`, `<start_of_turn>` |
 * | markdown_role_header         | 0.6    | a line "### system:" / "## instructions" / "[system]"                          |
 * | inline_role_label            | 0.35   | a line that starts "system:" or "assistant:"                                   |
 * | new_instructions             | 0.45   | "new instructions:", "from now on you will / must"                             |
 * | no_restrictions              | 0.3    | "without any restrictions / filters / censorship"                              |
 * | encoded_instructions         | 0.5    | "decode this base64 and follow / execute it"                                   |
 * | base64_injection             | 0.9    | a base64 blob that decodes to text which itself matches a pattern above        |
 *
 * The score combines the distinct patterns that matched as independent evidence (noisy-OR):
 * `1 - Π(1 - weight)`. Two weak signals together cross a threshold that neither crosses alone.
 */

export interface InjectionPattern {
  id: string;
  /**
   * Lower-case substrings one of which every match contains: a cheap gate, so that a pattern's regular
   * expression only runs on text that could match it.
   */
  triggers: readonly string[];
  weight: number;
  description: string;
  regex: RegExp;
}

/** The threshold at which a score counts as an injection when the policy sets none. */
export const DEFAULT_INJECTION_THRESHOLD = 0.5;

const INSTRUCTION_NOUNS =
  '(?:instructions?|prompts?|directions?|directives?|rules|guidelines|guidance|commands?|orders|messages?|context|constraints|programming)';
const QUANTIFIERS = '(?:(?:all|any|each|every|the|your|my|these|those|of|previous|prior|above|earlier)\\s+)*';

const REVEAL =
  '\\b(?:reveal|show|print|output|display|repeat|recite|dump|leak|tell\\s+me|give\\s+me|share|write\\s+out|what\\s+(?:is|are|was|were))';
const ADJECTIVES = '(?:full|exact|entire|complete|initial|original|hidden|secret|internal|confidential)';

/** The documented set of weighted patterns (see the table above). */
export const INJECTION_PATTERNS: readonly InjectionPattern[] = [
  {
    id: 'ignore_previous_instructions',
    triggers: ['ignore', 'disregard', 'forget', 'skip', 'overrid', 'overrule', 'drop', 'abandon', 'discard'],
    weight: 0.9,
    description: 'asks the model to drop the instructions it was given',
    regex: new RegExp(
      `\\b(?:ignore|disregard|forget|skip|override|overrule|drop|abandon|discard)\\s+${QUANTIFIERS}(?:previous|prior|above|preceding|earlier|initial|original|foregoing|existing|current|old)\\s+(?:\\w+\\s+)?${INSTRUCTION_NOUNS}\\b`,
      'giu',
    ),
  },
  {
    id: 'ignore_text_above',
    triggers: ['ignore', 'disregard', 'forget'],
    weight: 0.45,
    description: 'asks the model to ignore what came before, without naming instructions',
    regex:
      /\b(?:ignore|disregard|forget)\s+(?:(?:all|everything|anything|the(?:\s+text)?|what(?:ever)?\s+(?:was|is)\s+(?:written|said|stated))\s+)?(?:above|before\s+this|previously\s+(?:said|written|stated))\b/giu,
  },
  {
    id: 'disregard_system_prompt',
    triggers: [
      'ignore',
      'disregard',
      'forget',
      'overrid',
      'bypass',
      'circumvent',
      'disable',
      'turn',
      'deactivate',
    ],
    weight: 0.9,
    description: 'asks the model to set aside its system prompt or safety rules',
    regex:
      /\b(?:ignore|disregard|forget|override|bypass|circumvent|disable|turn\s+off|deactivate)\s+(?:(?:all|any|the|your|its|of)\s+)*(?:system\s+(?:prompt|message|instructions?)|developer\s+(?:message|instructions?)|guardrails?|safety\s+(?:rules|guidelines|filters?|measures|protocols?)|content\s+(?:polic(?:y|ies)|filters?|moderation)|ethical\s+guidelines|restrictions|programming)\b/giu,
  },
  {
    id: 'reveal_system_prompt',
    triggers: [
      'reveal',
      'show',
      'print',
      'output',
      'display',
      'repeat',
      'recite',
      'dump',
      'leak',
      'tell',
      'give',
      'share',
      'write',
      'what',
    ],
    weight: 0.8,
    description: 'asks the model to disclose its system prompt or hidden instructions',
    regex: new RegExp(
      [
        `${REVEAL}\\s+(?:me\\s+)?(?:your|the|its)\\s+(?:${ADJECTIVES}\\s+)*(?:system|developer)\\s+(?:prompt|message|instructions?)\\b`,
        `${REVEAL}\\s+(?:me\\s+)?(?:your|its)\\s+(?:${ADJECTIVES}\\s+)*(?:pre-?)?prompt\\b(?![\\s-]*(?:engineering|template|library|guide|design))`,
        `${REVEAL}\\s+(?:me\\s+)?(?:your|its)\\s+(?:(?:hidden|secret|original|initial|system)\\s+)+(?:instructions|rules|guidelines|configuration)\\b`,
        `${REVEAL}\\s+(?:me\\s+)?(?:the\\s+)?instructions\\s+(?:you\\s+were\\s+given|above)\\b`,
      ].join('|'),
      'giu',
    ),
  },
  {
    id: 'repeat_text_above',
    triggers: ['repeat', 'print', 'output', 'recite', 'copy', 'written', 'starting'],
    weight: 0.6,
    description: 'asks for the text that precedes the user turn, which is the system prompt',
    regex:
      /\b(?:repeat|print|output|recite|copy)\s+(?:(?:all|everything|the\s+(?:text|words|lines|content))\s+)+(?:above|before\s+this|written\s+above)|\bwhat\s+(?:was|is)\s+written\s+above\b|\bstarting\s+with\s+["']?you\s+are\b/giu,
  },
  {
    id: 'role_play_jailbreak',
    triggers: ['you', 'mode', 'act'],
    weight: 0.8,
    description: 'role-play that gives the model a persona without rules',
    regex:
      /\byou\s+are\s+(?:now\s+|going\s+to\s+(?:be|act\s+as)\s+)(?:DAN\b|(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|unchained|evil|rogue|amoral)\b)|\b(?:god|jailbreak|unrestricted)\s+mode\s+(?:enabled|activated|engaged|unlocked)\b|\benable\s+(?:jailbreak|god)\s+mode\b|\bact\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken)\s+(?:AI|assistant|model|chatbot|language\s+model)\b/giu,
  },
  {
    id: 'developer_mode',
    triggers: ['developer'],
    weight: 0.4,
    description:
      'the "Developer Mode" jailbreak; phones and browsers have a real developer mode, so weak alone',
    regex:
      /\bdeveloper\s+mode\s+(?:enabled|activated|engaged|unlocked)\b|\b(?:simulate|emulate)\s+developer\s+mode\b/giu,
  },
  {
    id: 'do_anything_now',
    triggers: ['anything', 'dan', 'stan', 'dude', 'aim', 'jailbreak'],
    weight: 0.7,
    description: 'the DAN jailbreak and its relatives (case-sensitive DAN, so the name Dan does not match)',
    regex:
      /\b[Dd]o\s+[Aa]nything\s+[Nn]ow\b|\bDAN\s+(?:mode|prompt|jailbreak)\b|\b(?:STAN|DUDE|AIM|DAN)\s*:\s|\bjailbreak(?:ed)?\s+(?:mode|prompt|yourself)\b/gu,
  },
  {
    id: 'pretend_no_rules',
    triggers: ['pretend', 'imagine', 'as if', 'suppose'],
    weight: 0.6,
    description: 'asks the model to behave as if it had no rules',
    regex:
      /\b(?:pretend|imagine|act\s+as\s+if|behave\s+as\s+if|suppose)\s+(?:that\s+)?you\s+(?:have|had|are\s+under|were\s+under)\s+no\s+(?:rules|restrictions|limitations|limits|filters|guidelines|ethical\s+(?:guidelines|constraints)|content\s+polic(?:y|ies)|moral\s+constraints)\b/giu,
  },
  {
    id: 'chat_template_token',
    triggers: ['<|', 'inst]', '<<', '_of_turn>'],
    weight: 0.9,
    description: "a chat template's special tokens, injected to open a new system or assistant turn",
    regex:
      /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?start_of_turn>|<\/?end_of_turn>/giu,
  },
  {
    id: 'markdown_role_header',
    triggers: ['#', '[system]', '[assistant]', '[developer]'],
    weight: 0.6,
    description: 'a heading or bracket that pretends to start a system or instruction section',
    regex:
      /^[ \t]*(?:#{1,6}[ \t]*(?:system|assistant|developer|instructions?)\b[ \t]*:?|\[(?:system|assistant|developer)\][ \t]*:?)/gimu,
  },
  {
    id: 'inline_role_label',
    triggers: ['system', 'assistant'],
    weight: 0.35,
    description: 'a line that starts with a role label, as in a transcript (common in benign text too)',
    regex: /^[ \t]*(?:system|assistant)[ \t]*:/gimu,
  },
  {
    id: 'new_instructions',
    triggers: ['instruction', 'from now on'],
    weight: 0.45,
    description: 'announces replacement instructions',
    regex:
      /\b(?:new|updated|real|actual|true|secret|hidden)\s+(?:system\s+)?instructions?\s*:|\bfrom\s+now\s+on,?\s+(?:you\s+(?:will|must|shall|are|should)|respond|answer|act)\b/giu,
  },
  {
    id: 'no_restrictions',
    triggers: ['without', 'no '],
    weight: 0.3,
    description: 'asks for output without filters (often benign alone)',
    regex:
      /\bwithout\s+(?:any\s+)?(?:restrictions|limitations|filters|filtering|censorship|moral(?:s|ity)?|ethics|safety\s+(?:checks|filters|guidelines))\b|\bno\s+(?:censorship|filters|moral\s+(?:limits|constraints))\b/giu,
  },
  {
    id: 'encoded_instructions',
    triggers: ['decode', 'encoded'],
    weight: 0.5,
    description: 'asks the model to decode something and act on it',
    regex:
      /\bdecode\s+(?:this|the\s+following|the\s+text\s+below)?\s*(?:base64|b64|rot13|hex)?\b[^.\n]{0,40}?\b(?:and|then)\s+(?:follow|execute|obey|run|do|perform|carry\s+out)\b|\b(?:follow|execute|obey)\s+(?:the\s+)?(?:decoded|base64|encoded)\s+(?:instructions?|text|message|payload)\b/giu,
  },
];

/** Weight of a base64 blob whose decoded text matches one of the patterns. */
const BASE64_INJECTION_WEIGHT = 0.9;
const BASE64_BLOB = /(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=_-])/g;
/** Blobs longer than this are not decoded: the check must stay cheap on large inputs. */
const MAX_DECODED_BLOB = 8_192;

export interface InjectionMatch {
  pattern: string;
  weight: number;
  start: number;
  end: number;
}

export interface InjectionResult {
  /** Noisy-OR of the distinct patterns that matched, in [0, 1]. */
  score: number;
  /** True when `score` reaches the threshold. */
  detected: boolean;
  /** Every match, in text order. */
  matches: InjectionMatch[];
}

export interface InjectionOptions {
  threshold?: number;
}

function matchPatterns(text: string): InjectionMatch[] {
  const lower = text.toLowerCase();
  const matches: InjectionMatch[] = [];
  for (const pattern of INJECTION_PATTERNS) {
    if (!pattern.triggers.some((trigger) => lower.includes(trigger))) continue;
    for (const match of text.matchAll(pattern.regex)) {
      if (match[0].length === 0) continue;
      matches.push({
        pattern: pattern.id,
        weight: pattern.weight,
        start: match.index,
        end: match.index + match[0].length,
      });
    }
  }
  return matches;
}

/** The text a base64 blob decodes to, when it is mostly printable text; undefined for binary or non-base64. */
function decodeBase64Text(blob: string): string | undefined {
  if (blob.length > MAX_DECODED_BLOB || blob.replace(/=+$/, '').length % 4 === 1) return undefined;
  // Plain words and hex hashes are base64-alphabet too; real encoded text mixes cases and digits.
  if (!/[a-z]/.test(blob) || !/[A-Z]/.test(blob)) return undefined;
  const decoded = Buffer.from(blob, 'base64').toString('utf8');
  if (decoded.length === 0) return undefined;
  let printable = 0;
  for (const char of decoded) {
    const code = char.codePointAt(0) ?? 0;
    if ((code >= 32 && code !== 0xfffd && code !== 127) || code === 10 || code === 13 || code === 9)
      printable++;
  }
  return printable / [...decoded].length >= 0.95 ? decoded : undefined;
}

/**
 * Scores `text` against INJECTION_PATTERNS and, for base64 blobs that decode to text, against the same
 * patterns in the decoded text. Deterministic; linear in the text for all practical inputs.
 */
export function detectPromptInjection(text: string, options: InjectionOptions = {}): InjectionResult {
  const threshold = options.threshold ?? DEFAULT_INJECTION_THRESHOLD;
  const matches = matchPatterns(text);
  for (const blob of text.matchAll(BASE64_BLOB)) {
    const decoded = decodeBase64Text(blob[0]);
    if (decoded !== undefined && matchPatterns(decoded).length > 0) {
      matches.push({
        pattern: 'base64_injection',
        weight: BASE64_INJECTION_WEIGHT,
        start: blob.index,
        end: blob.index + blob[0].length,
      });
    }
  }
  matches.sort((a, b) => a.start - b.start || b.end - a.end || (a.pattern < b.pattern ? -1 : 1));
  const weights = new Map<string, number>();
  for (const match of matches) weights.set(match.pattern, match.weight);
  let miss = 1;
  for (const weight of weights.values()) miss *= 1 - weight;
  const score = Math.round((1 - miss) * 1000) / 1000;
  return { score, detected: matches.length > 0 && score >= threshold, matches };
}
