import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/declaration/sha256.js';
import { saga } from '../src/index.js';

/** A small seeded generator (mulberry32), so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const alphabet = ['a', 'Z', '0', ' ', '"', '{', '}', 'é', 'ß', '€', '😀', '\n', '\u0000', '中'];

describe('default saga versions', () => {
  it('hash a config exactly as node:crypto SHA-256 does, so stored versions keep matching (seeded)', () => {
    for (const seed of [1, 2, 3, 42, 2026]) {
      const next = random(seed);
      for (let n = 0; n < 200; n++) {
        // Lengths around the 55/56/64-byte padding boundaries as well as long ones.
        const length = n < 140 ? n : Math.floor(next() * 3000);
        let text = '';
        while (text.length < length) text += alphabet[Math.floor(next() * alphabet.length)];
        expect(sha256Hex(text), `seed ${seed}, case ${n}`).toBe(createHash('sha256').update(text).digest('hex'));
      }
    }
  });

  it('are the first 16 hex digits of the SHA-256 of the compiled config', () => {
    const s = saga('versioned').step('a', () => 1).step('b', () => 2).build();
    expect(s.version).toBe(createHash('sha256').update(JSON.stringify(s.config)).digest('hex').slice(0, 16));
  });
});
