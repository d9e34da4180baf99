import { describe, expect, it } from 'vitest';
import { AppendMap, lookup, readOnlyView, toPlain } from '../src/compilation/append-map.js';

/** A small seeded generator (mulberry32), so a failing case can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('AppendMap (the O(1) results and visits of a saga context)', () => {
  it('behaves like copying plain objects, JSON byte for byte, old views unchanged, for seeded random writes and branches', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = rng(seed);
      const keys = ['a', 'b', 'c', '__proto__', '1', 'toJSON', 'constructor', 'z'];
      const views: { map: AppendMap<number>; plain: Record<string, number>; json: string }[] = [
        { map: AppendMap.empty(), plain: {}, json: '{}' },
      ];
      for (let i = 0; i < 60; i++) {
        // Mostly extend the newest view (what the machine does), sometimes an older one (a branch).
        const from = random() < 0.8 ? views[views.length - 1]! : views[Math.floor(random() * views.length)]!;
        const key = keys[Math.floor(random() * keys.length)]!;
        const value = Math.floor(random() * 100);
        const plain = { ...from.plain, [key]: value };
        const map = from.map.set(key, value);
        views.push({ map, plain, json: JSON.stringify(plain) });
      }
      for (const view of views) {
        expect(JSON.stringify(view.map)).toBe(view.json);
        for (const key of keys) expect(lookup(view.map, key)).toBe(lookup(view.plain, key));
        expect(JSON.stringify(readOnlyView(view.map))).toBe(view.json);
        expect(Object.keys(readOnlyView(view.map))).toEqual(Object.keys(view.plain));
      }
    }
  });

  it('is built from a plain record restored from JSON, in its key order', () => {
    const restored = JSON.parse('{"b":1,"a":2}');
    const map = AppendMap.from<number>(restored).set('c', 3).set('b', 4);
    expect(JSON.stringify(map)).toBe('{"b":4,"a":2,"c":3}');
    expect(toPlain(restored)).toBe(restored);
  });

  it('gives step functions a read-only view: writing to results throws instead of corrupting the snapshot', () => {
    const view = readOnlyView(AppendMap.empty<number>().set('a', 1)) as Record<string, number>;
    expect(view.a).toBe(1);
    expect({ ...view }).toEqual({ a: 1 });
    expect('a' in view && !('b' in view)).toBe(true);
    expect(() => {
      'use strict';
      view.b = 2;
    }).toThrow(TypeError);
  });
});
