// Live updates: server streams (WatchEvents, WatchAlerts) kept open and resumed after a drop,
// and a steady poll for what no stream tells this caller.
import { useEffect, useRef, useState } from "react";
import { events, scheduler } from "../api/clients";
import type { Event } from "../gen/leadpool/v1/event_service_pb";
import type { AlertEvent } from "../gen/leadpool/v1/scheduler_service_pb";

export type StreamState = "connecting" | "live" | "reconnecting";

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const id = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(id);
      resolve();
    });
  });

/**
 * Follows EventService.WatchEvents from now (filtered by pool when given), resuming after the
 * last event's cursor when the stream drops. `onEvent` is called for each event.
 */
export function useEventStream(pool: string | undefined, onEvent: (event: Event) => void, enabled = true): StreamState {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const [state, setState] = useState<StreamState>("connecting");
  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    void (async () => {
      let cursor = "";
      let backoff = 1000;
      while (!abort.signal.aborted) {
        try {
          const stream = events.watchEvents(
            { pool: pool ?? "", after: cursor, fromNow: !cursor },
            { signal: abort.signal },
          );
          setState("live");
          for await (const event of stream) {
            cursor = event.cursor || cursor;
            backoff = 1000;
            handler.current(event);
          }
        } catch {
          // dropped or refused: try again below
        }
        if (abort.signal.aborted) break;
        setState("reconnecting");
        await sleep(backoff, abort.signal);
        backoff = Math.min(backoff * 2, 15_000);
      }
    })();
    return () => abort.abort();
  }, [pool, enabled]);
  return state;
}

/** SchedulerService.WatchAlerts: every alert firing now, then each start and stop. */
export function useAlertStream(pool: string | undefined, onAlert: (event: AlertEvent) => void, onReset: () => void): StreamState {
  const handler = useRef({ onAlert, onReset });
  handler.current = { onAlert, onReset };
  const [state, setState] = useState<StreamState>("connecting");
  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      let backoff = 1000;
      while (!abort.signal.aborted) {
        try {
          const stream = scheduler.watchAlerts({ pool: pool ?? "" }, { signal: abort.signal });
          handler.current.onReset(); // the stream starts with every alert firing now
          setState("live");
          for await (const event of stream) {
            backoff = 1000;
            handler.current.onAlert(event);
          }
        } catch {
          // dropped or refused: try again below
        }
        if (abort.signal.aborted) break;
        setState("reconnecting");
        await sleep(backoff, abort.signal);
        backoff = Math.min(backoff * 2, 15_000);
      }
    })();
    return () => abort.abort();
  }, [pool]);
  return state;
}

/** Calls `tick` every `ms` while the page is visible. */
export function usePoll(tick: () => void, ms: number, enabled = true): void {
  const handler = useRef(tick);
  handler.current = tick;
  useEffect(() => {
    if (!enabled) return;
    const id = setInterval(() => {
      if (document.visibilityState === "visible") handler.current();
    }, ms);
    return () => clearInterval(id);
  }, [ms, enabled]);
}
