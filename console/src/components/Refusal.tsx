// A refusal, in words: what happened and every detail the service gave (limit, rule, field,
// when to try again). Announced to screen readers.
import type { Refusal } from "../api/refusal";

export function RefusalMessage({ refusal, onDismiss }: { refusal: Refusal | undefined; onDismiss?: () => void }) {
  if (!refusal) return null;
  return (
    <div role="alert" className="refusal">
      <p className="refusal-headline">{refusal.headline}</p>
      {refusal.details.length > 0 && (
        <ul>
          {refusal.details.map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ul>
      )}
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
