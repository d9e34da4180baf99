/*
 * Why this exists: the machine's context holds every step's latest result and
 * every step's visit count. As plain objects, XState's immutable assigns copy
 * them at every step (`{ ...results, [step]: value }`), which makes a step cost
 * O(steps so far): 67 % of the time of a 1,000-step saga went there.
 *
 * An AppendMap is an immutable view of a shared, append-only log of writes.
 * A view is (log, size): the first `size` writes. `set` on the newest view
 * pushes onto the shared log and returns a view one longer: O(1), nothing
 * copied. Older views still see exactly their first `size` writes (each read
 * ignores positions >= size), so every snapshot XState keeps stays what it
 * was: the structure is persistent, not mutable. Only `set` on an older view
 * (a branch) copies the log first; the machine never does that (its context
 * moves forward one transition at a time), so the copy is a safety net.
 *
 * As JSON it is the plain object the old assigns built, key for key and in the
 * same order (a key keeps the position of its first write, its value is the
 * last), so persisted snapshots are byte-identical to the plain-object ones.
 */

interface Log<V> {
  keys: string[];
  values: V[];
  /** Positions in the log of each key's writes, ascending. */
  positions: Map<string, number[]>;
}

/** A plain record or an AppendMap: contexts restored from JSON hold plain records until their first write. */
export type RecordLike<V> = AppendMap<V> | Readonly<Record<string, V>>;

/**
 * An immutable map with O(1) `set`, backed by a shared append-only log.
 *
 * @example
 * ```ts
 * const a = AppendMap.empty<number>().set('x', 1);
 * const b = a.set('y', 2);
 * a.get('y'); // undefined: a is unchanged
 * JSON.stringify(b); // '{"x":1,"y":2}'
 * ```
 */
export class AppendMap<V> {
  #cache: Record<string, V> | undefined;

  private constructor(
    private readonly log: Log<V>,
    /** How many writes of the log this view sees. */
    readonly size: number,
  ) {}

  /** An empty map. */
  static empty<V>(): AppendMap<V> {
    return new AppendMap<V>({ keys: [], values: [], positions: new Map() }, 0);
  }

  /** The map of a plain record (one write per key, in key order), or the map itself. */
  static from<V>(record: RecordLike<V>): AppendMap<V> {
    if (record instanceof AppendMap) return record;
    let map = AppendMap.empty<V>();
    for (const key of Object.keys(record)) map = map.set(key, record[key]!);
    return map;
  }

  /** The latest value written for `key` in this view. */
  get(key: string): V | undefined {
    const positions = this.log.positions.get(key);
    if (positions === undefined) return undefined;
    for (let i = positions.length - 1; i >= 0; i--) {
      if (positions[i]! < this.size) return this.log.values[positions[i]!];
    }
    return undefined;
  }

  has(key: string): boolean {
    const positions = this.log.positions.get(key);
    return positions !== undefined && positions[0]! < this.size;
  }

  /** A view with one more write; this one is unchanged. */
  set(key: string, value: V): AppendMap<V> {
    const log = this.log.keys.length === this.size ? this.log : this.#branch();
    const positions = log.positions.get(key);
    if (positions) positions.push(log.keys.length);
    else log.positions.set(key, [log.keys.length]);
    log.keys.push(key);
    log.values.push(value);
    return new AppendMap(log, this.size + 1);
  }

  /** The writes from position `from` to the end of this view, oldest first. */
  *writesSince(from: number): IterableIterator<[string, V]> {
    for (let i = Math.max(0, from); i < this.size; i++) yield [this.log.keys[i]!, this.log.values[i]!];
  }

  /** Keys in first-write order (the order of the plain object). */
  keys(): string[] {
    return Object.keys(this.toJSON());
  }

  /** The plain object (built once per view, then cached: the view never changes). */
  toJSON(): Record<string, V> {
    if (this.#cache) return this.#cache;
    const plain: Record<string, V> = {};
    for (let i = 0; i < this.size; i++) assignKey(plain, this.log.keys[i]!, this.log.values[i]!);
    this.#cache = plain;
    return plain;
  }

  #branch(): Log<V> {
    const keys = this.log.keys.slice(0, this.size);
    const values = this.log.values.slice(0, this.size);
    const positions = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const list = positions.get(key);
      if (list) list.push(i);
      else positions.set(key, [i]);
    });
    return { keys, values, positions };
  }
}

/** `record[key] = value` that also works for the key `__proto__` (as `{ ...r, [key]: v }` did). */
export function assignKey<V>(record: Record<string, V>, key: string, value: V): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** The value of `key` in a plain record or an AppendMap. */
export function lookup<V>(record: RecordLike<V>, key: string): V | undefined {
  if (record instanceof AppendMap) return record.get(key);
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Whether a plain record or an AppendMap has `key` (own keys only: `in` would be wrong on both). */
export function hasKey<V>(record: RecordLike<V>, key: string): boolean {
  return record instanceof AppendMap ? record.has(key) : Object.prototype.hasOwnProperty.call(record, key);
}

/** A plain record or an AppendMap as a plain object (an AppendMap's is cached). */
export function toPlain<V>(record: RecordLike<V>): Record<string, V> {
  return record instanceof AppendMap ? record.toJSON() : (record as Record<string, V>);
}

/**
 * A read-only object view of a record for user code (step functions, goto
 * decisions, compensations): reading one result costs O(1), whatever the
 * number of results; enumerating, spreading or JSON-stringifying it works as
 * on a plain object.
 */
export function readOnlyView<V>(record: RecordLike<V>): Readonly<Record<string, V>> {
  if (!(record instanceof AppendMap)) return record;
  const map = record;
  return new Proxy({} as Record<string, V>, {
    get: (target, key) => (typeof key === 'string' && map.has(key) ? map.get(key) : Reflect.get(target, key)),
    has: (target, key) => (typeof key === 'string' && map.has(key)) || Reflect.has(target, key),
    ownKeys: () => map.keys(),
    getOwnPropertyDescriptor: (_, key) =>
      typeof key === 'string' && map.has(key) ? { value: map.get(key), enumerable: true, configurable: true, writable: false } : undefined,
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}
