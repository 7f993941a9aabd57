// Runs one user action (claim, release, apply …): pending while it runs, its refusal explained.
import { useCallback, useState } from "react";
import { explain, type Refusal } from "../api/refusal";

export interface Action<A extends unknown[], T> {
  run: (...args: A) => Promise<T | undefined>;
  pending: boolean;
  refusal: Refusal | undefined;
  clear: () => void;
}

export function useAction<A extends unknown[], T>(act: (...args: A) => Promise<T>): Action<A, T> {
  const [pending, setPending] = useState(false);
  const [refusal, setRefusal] = useState<Refusal>();
  const run = useCallback(
    async (...args: A) => {
      setPending(true);
      setRefusal(undefined);
      try {
        return await act(...args);
      } catch (err) {
        setRefusal(explain(err));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [act],
  );
  return { run, pending, refusal, clear: () => setRefusal(undefined) };
}
