import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { SagaBuilder } from './builder.js';
import type { Declaration } from './types.js';

/*
 * The types SagaBuilder's signatures are written in: how results widen step
 * by step, how a reused step name becomes a type error, and what `.build()`
 * is handed to finish a declaration. Types only; nothing here runs.
 */

/**
 * What `.build()` does with a finished declaration: validate, compile and
 * wrap it. Given by whoever made the builder (`saga()` in src/saga.ts), so
 * the declaration layer knows neither the compiler nor the interpreter.
 */
export type Finish = (decl: Declaration) => SagaDefinition<any, any>;

/** A name already used by an earlier step makes the argument's type an error message. */
export type Fresh<N extends string, R> = N extends keyof R ? `step "${N}" is already declared: step names must be unique` : N;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer X) => void ? X : never;

/** Results added by each branch, merged. */
export type BranchResults<B> = UnionToIntersection<
  { [K in keyof B]: B[K] extends (b: any) => SagaBuilder<any, any, any, infer A> ? A : never }[keyof B]
>;

export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The payload `.waitFor()` gives its step: the schema's output, or `unknown` without a schema. */
export type WaitResult<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : unknown;
