// Loads something from the API and keeps its state: the answer, the refusal, loading.
import { type DependencyList, useCallback, useEffect, useRef, useState } from "react";

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
}

export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Async<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const controller = useRef<AbortController | undefined>(undefined);

  // `load` is a new closure every render; the caller's `deps` say when it really changes.
  const run = useCallback(async () => {
    const mine = ++generation.current;
    // A reload lets the earlier call finish (its answer is dropped); unmounting aborts it.
    controller.current ??= new AbortController();
    const abort = controller.current;
    setLoading(true);
    try {
      const answer = await load(abort.signal);
      if (mine === generation.current) {
        setData(answer);
        setError(undefined);
      }
    } catch (err) {
      if (mine === generation.current && !abort.signal.aborted) setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  useEffect(() => {
    controller.current = new AbortController();
    void run();
    return () => {
      controller.current?.abort();
      controller.current = undefined;
    };
  }, [run]);

  return { data, error, loading, reload: run };
}

/** Re-renders every `ms` milliseconds (countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}
