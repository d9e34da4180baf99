import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';

/** XState's inspection hook, as `createRuntime({ inspect })` takes it. */
export type InspectHook = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/**
 * The inspector session id of a durable saga: the same in every process and
 * across every wake, so that the Stately inspector shows one actor per saga.
 *
 * @example
 * ```ts
 * inspectorSessionId('order', 'order-42'); // 'orsa:order:order-42'
 * ```
 */
export const inspectorSessionId = (sagaName: string, sagaId: string): string => `orsa:${sagaName}:${sagaId}`;

/**
 * Wraps an inspection hook for one saga instance: its root actor is reported
 * under a stable session id ({@link inspectorSessionId}) and named
 * `sagaName sagaId` instead of XState's per-process `x:N` and the random
 * actor id. A durable saga is a new XState actor at every wake and in every
 * process; through this wrapper the inspector sees one continuous actor.
 *
 * @example
 * ```ts
 * createActor(definition.machine, { inspect: inspectAs(inspector.inspect, 'order', 'order-42') });
 * ```
 */
export function inspectAs(hook: InspectHook, sagaName: string, sagaId: string): (event: InspectionEvent) => void {
  const next = typeof hook === 'function' ? hook : (event: InspectionEvent) => hook.next?.(event);
  const sessionId = inspectorSessionId(sagaName, sagaId);
  const name = `${sagaName} ${sagaId}`;
  const facades = new WeakMap<AnyActorRef, AnyActorRef>();
  // Only the saga's own actor is renamed: a child keeps its identity but hangs under the stable root.
  const isRoot = (ref: unknown): ref is AnyActorRef => !!ref && !(ref as AnyActorRef)._parent && (ref as AnyActorRef).id === sagaId;
  const facade = (ref: AnyActorRef): AnyActorRef => {
    let known = facades.get(ref);
    if (!known) {
      // Read live from the real actor: inspectors serialise later (in an idle callback).
      known = new Proxy(ref, {
        get: (target, key, receiver) => (key === 'sessionId' ? sessionId : key === 'id' ? name : Reflect.get(target, key, receiver)),
      });
      facades.set(ref, known);
    }
    return known;
  };
  let rootSession: string | undefined;
  return (event) => {
    if (isRoot(event.actorRef)) rootSession = event.actorRef.sessionId;
    const actorRef = isRoot(event.actorRef) ? facade(event.actorRef) : event.actorRef;
    const rewritten = { ...event, actorRef, rootId: event.rootId === rootSession ? sessionId : event.rootId } as InspectionEvent;
    if ('sourceRef' in event && isRoot(event.sourceRef)) (rewritten as { sourceRef?: AnyActorRef }).sourceRef = facade(event.sourceRef);
    next(rewritten);
  };
}
