// The audit log (RoutingService.ListAuditRecords, admins): who did what, when, from where.
import { type FormEvent, useState } from "react";
import { routing } from "../../api/clients";
import { Page, Panel } from "../../components/Page";
import { RefusalMessage } from "../../components/Refusal";
import { Empty } from "../../components/States";
import { dateTime } from "../../format";
import type { AuditRecord } from "../../gen/leadpool/v1/routing_service_pb";
import { useAction } from "../../hooks/useAction";
import { useEffect } from "react";

const ACTIONS = [
  "policy.apply",
  "pool.create",
  "rep.upsert",
  "rep.availability",
  "lead.assign",
  "leads.reassign",
  "lead.return",
  "lead.erase",
  "job.run",
  "webhook.create",
  "webhook.delete",
  "webhook.replay",
];

export function AuditPage() {
  const [filters, setFilters] = useState({ actor: "", action: "", target: "" });
  const [records, setRecords] = useState<AuditRecord[]>();
  const [next, setNext] = useState("");
  const load = useAction(async (pageToken: string) => {
    const page = await routing.listAuditRecords({ ...filters, pageSize: 50, pageToken });
    setRecords((current) => (pageToken ? [...(current ?? []), ...page.records] : page.records));
    setNext(page.nextPageToken);
  });
  useEffect(() => {
    void load.run("");
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const search = (e: FormEvent) => {
    e.preventDefault();
    void load.run("");
  };
  return (
    <Page title="Audit log" intro="Every administrative action, newest first.">
      <Panel title="Filter">
        <form className="inline-form" onSubmit={search}>
          <label>
            Actor <input value={filters.actor} placeholder="users/ops" onChange={(e) => setFilters({ ...filters, actor: e.target.value })} />
          </label>
          <label>
            Action{" "}
            <select value={filters.action} onChange={(e) => setFilters({ ...filters, action: e.target.value })}>
              <option value="">any</option>
              {ACTIONS.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </select>
          </label>
          <label>
            Target <input value={filters.target} placeholder="pools/west" onChange={(e) => setFilters({ ...filters, target: e.target.value })} />
          </label>
          <button type="submit" disabled={load.pending}>
            Search
          </button>
        </form>
      </Panel>
      <Panel title="Records">
        <RefusalMessage refusal={load.refusal} />
        {records === undefined ? (
          <p className="muted">Loading the audit log…</p>
        ) : records.length === 0 ? (
          <Empty>No record matches.</Empty>
        ) : (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">From</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {records.map((r) => (
                  <tr key={String(r.id)}>
                    <td>{dateTime(r.time)}</td>
                    <td>
                      {r.actor} <span className="muted small">({r.roles.join(", ")})</span>
                    </td>
                    <th scope="row">{r.action}</th>
                    <td>{r.target}</td>
                    <td className="small">{r.origin}</td>
                    <td>
                      <code className="detail">{r.detail}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {next && (
          <button type="button" disabled={load.pending} onClick={() => load.run(next)}>
            Load more
          </button>
        )}
      </Panel>
    </Page>
  );
}
