// Webhook subscriptions (EventService, admins): create one (its secret shown once), see its
// deliveries by state, replay its dead letters, delete it.
import { type FormEvent, useState } from "react";
import { events } from "../../api/clients";
import { Page, Panel } from "../../components/Page";
import { RefusalMessage } from "../../components/Refusal";
import { Done, Empty, Loaded } from "../../components/States";
import { dateTime, idOf } from "../../format";
import type { WebhookSubscription } from "../../gen/leadpool/v1/event_service_pb";
import { useAction } from "../../hooks/useAction";
import { useAsync } from "../../hooks/useAsync";

export function WebhooksPage() {
  const subs = useAsync(async () => (await events.listWebhookSubscriptions({})).subscriptions, []);
  const [done, setDone] = useState<string>();
  const changed = (text: string) => {
    setDone(text);
    void subs.reload();
  };
  return (
    <Page title="Webhooks" intro="Send Leadpool's events to other systems as signed HTTP requests.">
      <Done>{done}</Done>
      <Panel title="New subscription">
        <CreateForm onCreated={changed} />
      </Panel>
      <Panel title="Subscriptions">
        <Loaded state={subs} what="subscriptions">
          {(list) =>
            list.length === 0 ? (
              <Empty>No subscription yet.</Empty>
            ) : (
              <ul className="cards" aria-label="Subscriptions">
                {list.map((s) => (
                  <SubscriptionCard key={s.name} sub={s} onChanged={changed} />
                ))}
              </ul>
            )
          }
        </Loaded>
      </Panel>
      <Panel title="All deliveries">
        <Deliveries subscription="" />
      </Panel>
    </Page>
  );
}

function CreateForm({ onCreated }: { onCreated: (text: string) => void }) {
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState("");
  const [pool, setPool] = useState("");
  const [description, setDescription] = useState("");
  const [secret, setSecret] = useState<string>();
  const create = useAction(async () => {
    const answer = await events.createWebhookSubscription({
      url,
      types: types.split(/[\s,]+/).filter(Boolean),
      pool: pool ? `pools/${idOf(pool)}` : "",
      description,
    });
    setSecret(answer.secret);
    onCreated(`Subscription ${idOf(answer.subscription?.name ?? "")} created.`);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create.run();
  };
  return (
    <>
      <form className="stack-form" onSubmit={submit}>
        <label>
          URL <input type="url" required value={url} placeholder="https://crm.example.com/hooks" onChange={(e) => setUrl(e.target.value)} />
        </label>
        <label>
          Event types (comma-separated; empty: all) <input value={types} placeholder="lead.claimed, lead.escalated" onChange={(e) => setTypes(e.target.value)} />
        </label>
        <label>
          Pool (optional) <input value={pool} placeholder="west" onChange={(e) => setPool(e.target.value)} />
        </label>
        <label>
          Description <input value={description} maxLength={1024} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <button type="submit" disabled={create.pending}>
          Create subscription
        </button>
      </form>
      <RefusalMessage refusal={create.refusal} onDismiss={create.clear} />
      {secret && (
        <div className="secret" role="status">
          <p>
            Signing secret — copy it now, it is not shown again: <code>{secret}</code>
          </p>
          <button type="button" onClick={() => setSecret(undefined)}>
            I have copied it
          </button>
        </div>
      )}
    </>
  );
}

function SubscriptionCard({ sub, onChanged }: { sub: WebhookSubscription; onChanged: (text: string) => void }) {
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const id = idOf(sub.name);
  const replay = useAction(async () => {
    const answer = await events.replayWebhookDeliveries({ subscription: sub.name });
    onChanged(`${answer.replayed} dead deliveries of ${sub.url} will be sent again.`);
  });
  const remove = useAction(async () => {
    await events.deleteWebhookSubscription({ name: sub.name });
    onChanged(`Subscription to ${sub.url} deleted.`);
  });
  return (
    <li className="card" aria-labelledby={`sub-${id}`}>
      <h3 id={`sub-${id}`} className="card-title">
        {sub.url}
      </h3>
      <p className="muted">
        {sub.types.length ? sub.types.join(", ") : "all events"}
        {sub.pool && ` · pool ${idOf(sub.pool)}`} · by {sub.createdBy} on {dateTime(sub.createTime)}
      </p>
      {sub.description && <p>{sub.description}</p>}
      <div className="toolbar">
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`Deliveries of ${sub.url}`}>
          Deliveries
        </button>
        <button type="button" disabled={replay.pending} onClick={() => replay.run()} aria-label={`Replay dead deliveries of ${sub.url}`}>
          Replay dead deliveries
        </button>
        <button type="button" aria-expanded={confirming} onClick={() => setConfirming(!confirming)} aria-label={`Delete subscription to ${sub.url}`}>
          Delete
        </button>
      </div>
      {confirming && (
        <p role="group" aria-label="Confirm deletion">
          Nothing more is sent to {sub.url}.{" "}
          <button type="button" disabled={remove.pending} onClick={() => remove.run()}>
            Delete it
          </button>{" "}
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </p>
      )}
      <RefusalMessage refusal={replay.refusal ?? remove.refusal} />
      {open && <Deliveries subscription={sub.name} />}
    </li>
  );
}

function Deliveries({ subscription }: { subscription: string }) {
  const [state, setState] = useState("");
  const list = useAsync(async () => (await events.listWebhookDeliveries({ subscription, state, pageSize: 100 })).deliveries, [subscription, state]);
  return (
    <div>
      <label className="inline">
        State{" "}
        <select value={state} onChange={(e) => setState(e.target.value)}>
          <option value="">any</option>
          <option value="pending">pending</option>
          <option value="delivered">delivered</option>
          <option value="dead">dead</option>
          <option value="cancelled">cancelled</option>
        </select>
      </label>
      <Loaded state={list} what="deliveries">
        {(rows) =>
          rows.length === 0 ? (
            <Empty>No delivery{state ? ` in state ${state}` : ""}.</Empty>
          ) : (
            <div className="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">State</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Last answer</th>
                    <th scope="col">When</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((d) => (
                    <tr key={`${d.subscription}-${d.eventCursor}`}>
                      <th scope="row">
                        {d.eventType} <span className="muted small">{d.eventSubject}</span>
                      </th>
                      <td>{d.state}</td>
                      <td>{d.attempts}</td>
                      <td>{d.lastStatus ? `HTTP ${d.lastStatus}` : d.lastError || "—"}</td>
                      <td>{d.state === "pending" ? `next ${dateTime(d.nextAttemptTime)}` : dateTime(d.deliverTime)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </div>
  );
}
