export const MINUTE_MS = 60_000;

/**
 * KeyUsed counts per key (with the latest use) and per key and minute. The live projection tallies
 * one batch, the replay the whole log; either writes each key and each bucket once.
 */
export class UsageTally {
  readonly perKey = new Map<string, { count: number; last: number }>();
  readonly perMinute = new Map<string, Map<number, number>>();

  add(keyId: string, usedAt: number): void {
    const key = this.perKey.get(keyId);
    if (key) {
      key.count++;
      if (usedAt > key.last) key.last = usedAt;
    } else {
      this.perKey.set(keyId, { count: 1, last: usedAt });
    }
    const minute = usedAt - (((usedAt % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
    let minutes = this.perMinute.get(keyId);
    if (!minutes) this.perMinute.set(keyId, (minutes = new Map()));
    minutes.set(minute, (minutes.get(minute) ?? 0) + 1);
  }

  /** The minute buckets as column arrays: key ids, bucket starts (ms), counts. */
  buckets(): { keyIds: string[]; minutes: number[]; counts: number[] } {
    const keyIds: string[] = [];
    const minutes: number[] = [];
    const counts: number[] = [];
    for (const [keyId, perMinute] of this.perMinute) {
      for (const [minute, count] of perMinute) {
        keyIds.push(keyId);
        minutes.push(minute);
        counts.push(count);
      }
    }
    return { keyIds, minutes, counts };
  }
}
