// Time left to a lead's contact deadline, ticking every second, with the warning before it.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { clockTime, span } from "../format";
import { useNow } from "../hooks/useAsync";

export function ContactCountdown({
  due,
  warning,
  dueSoon,
}: {
  due: Timestamp | undefined;
  warning?: Timestamp;
  dueSoon?: boolean;
}) {
  const now = useNow(1000);
  if (!due) return <span className="muted">no deadline</span>;
  const dueAt = timestampDate(due);
  const left = dueAt.getTime() - now;
  const warned = dueSoon || (warning ? timestampDate(warning).getTime() <= now : false);
  const text = left > 0 ? `${span(left)} left to contact (due ${clockTime(dueAt)})` : `contact overdue since ${clockTime(dueAt)}`;
  return (
    <span className={warned || left <= 0 ? "countdown due-soon" : "countdown"}>
      <time dateTime={dueAt.toISOString()}>{text}</time>
      {warned && left > 0 && <strong className="badge warn"> Due soon</strong>}
    </span>
  );
}
