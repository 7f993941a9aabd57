// The states every panel has besides its content: loading, refused, empty, done.
import type { ReactNode } from "react";
import { explain } from "../api/refusal";
import { RefusalMessage } from "./Refusal";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function LoadError({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div>
      <RefusalMessage refusal={explain(error)} />
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function Done({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p role="status" className="done">
      {children}
    </p>
  );
}

/** Loading, error or the content, for one API answer. */
export function Loaded<T>({
  state,
  what,
  children,
}: {
  state: { data: T | undefined; error: unknown; loading: boolean; reload: () => void };
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (state.error) return <LoadError error={state.error} retry={state.reload} />;
  if (state.data === undefined) return <Loading what={what} />;
  return <>{children(state.data)}</>;
}
