import { createHash } from 'node:crypto';

/**
 * The ledger idempotency key of a redemption, byte for byte as enterprise-access computes it
 * (spec learner-credit §7.3), so keys interoperate with transactions already in a ledger:
 * `ledger-for-subsidy-<subsidy>-` + md5 of the Python `repr` of an ordered dict. Prior
 * redemptions that failed or were reversed enter the key, so a new attempt gets a new key while
 * a repeat of a live one gets the same key (and the ledger returns the same transaction).
 */
export function redemptionIdempotencyKey(input: {
  subsidyUuid: string;
  lmsUserId: number;
  contentKey: string;
  policyUuid: string;
  historicalRedemptionUuids: readonly string[];
}): string {
  const repr =
    `{'lms_user_id': ${input.lmsUserId}, 'content_key': ${pyStr(input.contentKey)}, ` +
    `'subsidy_access_policy_uuid': ${pyStr(input.policyUuid)}, ` +
    `'historical_redemptions_uuids': [${input.historicalRedemptionUuids.map(pyStr).join(', ')}]}`;
  return `ledger-for-subsidy-${input.subsidyUuid}-${createHash('md5').update(repr, 'utf8').digest('hex')}`;
}

/** Python's `repr()` of a str: single quotes unless the text has one and no double quote. */
export function pyStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** Which prior transactions advance the key: failed ones, and ones with a committed reversal. */
export function historicalRedemptionUuids(
  transactions: ReadonlyArray<{ uuid: string; state: string; reversal?: { state: string } | null }>,
): string[] {
  return transactions.filter((t) => t.state === 'failed' || t.reversal?.state === 'committed').map((t) => t.uuid);
}
