// The routing policy as code: the version in force (GetPolicy) in an editor; a dry run
// (ApplyPolicy validate_only) shows what would change and which retired pools would drain
// where, then Apply (with expected_version against lost updates). Earlier versions below.
import { useEffect, useRef, useState } from "react";
import { routing } from "../../api/clients";
import { Page, Panel } from "../../components/Page";
import { RefusalMessage } from "../../components/Refusal";
import { Done, Empty, Loaded } from "../../components/States";
import { count, dateTime, idOf } from "../../format";
import { type ApplyPolicyResponse } from "../../gen/leadpool/v1/routing_service_pb";
import { PolicyChange_Kind } from "../../gen/leadpool/v1/policy_pb";
import { useAction } from "../../hooks/useAction";
import { useAsync } from "../../hooks/useAsync";

export function PolicyPage() {
  const current = useAsync(async () => (await routing.getPolicy({ version: 0n })).policy!, []);
  const versions = useAsync(async () => (await routing.listPolicyVersions({ pageSize: 50 })).versions, []);
  const [draft, setDraft] = useState("");
  const [checked, setChecked] = useState<{ document: string; answer: ApplyPolicyResponse }>();
  const [done, setDone] = useState<string>();

  // The editor follows the version in force only while untouched: what the user typed while
  // the policy loaded (or reloaded) is kept, never overwritten by the answer arriving late.
  const shownInForce = useRef("");
  useEffect(() => {
    if (!current.data) return;
    const [shown, inForce] = [shownInForce.current, current.data.document];
    shownInForce.current = inForce;
    setDraft((draft) => (draft === shown ? inForce : draft));
  }, [current.data]);

  const dryRun = useAction(async () => {
    setDone(undefined);
    const answer = await routing.applyPolicy({ document: draft, validateOnly: true });
    setChecked({ document: draft, answer });
  });
  const apply = useAction(async () => {
    const answer = await routing.applyPolicy({ document: draft, expectedVersion: current.data?.version ?? 0n });
    // Applied, the draft is what is in force: the editor shows the new version as stored.
    shownInForce.current = draft;
    setChecked(undefined);
    setDone(
      answer.applied
        ? `Version ${answer.policy?.version} is in force${answer.drains.length ? `; ${answer.drains.reduce((n, d) => n + Number(d.leads), 0)} lead(s) drained` : ""}.`
        : "Nothing changed: the document is the version in force.",
    );
    await Promise.all([current.reload(), versions.reload()]);
  });
  const checkedNow = checked && checked.document === draft;

  return (
    <Page title="Policy" intro="The routing policy in force, as YAML. Dry-run a change to see what it does before you apply it.">
      <Done>{done}</Done>
      <Panel title="Policy in force">
        <Loaded state={current} what="the policy">
          {(p) =>
            p.version === 0n ? (
              <Empty>No policy was applied yet. Write one below and dry-run it.</Empty>
            ) : (
              <p>
                Version {String(p.version)} “{p.displayName}”, applied by {p.appliedBy} on {dateTime(p.applyTime)}.
              </p>
            )
          }
        </Loaded>
        <label className="editor-label" htmlFor="policy-editor">
          Policy document (YAML)
        </label>
        <textarea
          id="policy-editor"
          className="editor"
          spellCheck={false}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          rows={24}
        />
        <div className="toolbar">
          <button type="button" disabled={dryRun.pending || !draft.trim()} onClick={() => dryRun.run()}>
            Dry run
          </button>
          <button type="button" disabled={apply.pending || !checkedNow} onClick={() => apply.run()} title={checkedNow ? undefined : "Dry-run this text first"}>
            Apply
          </button>
          <button type="button" disabled={!current.data} onClick={() => setDraft(current.data?.document ?? "")}>
            Reset to version in force
          </button>
        </div>
        {!checkedNow && draft !== current.data?.document && <p className="muted small">Dry-run the edited document before applying it.</p>}
        <RefusalMessage refusal={dryRun.refusal ?? apply.refusal} />
        {checkedNow && <DryRunResult answer={checked.answer} />}
      </Panel>
      <Panel title="Versions">
        <Loaded state={versions} what="the versions">
          {(list) => (list.length === 0 ? <Empty>No version yet.</Empty> : <VersionList versions={list} />)}
        </Loaded>
      </Panel>
    </Page>
  );
}

const KIND: Record<PolicyChange_Kind, string> = {
  [PolicyChange_Kind.UNSPECIFIED]: "changed",
  [PolicyChange_Kind.ADDED]: "added",
  [PolicyChange_Kind.REMOVED]: "removed",
  [PolicyChange_Kind.CHANGED]: "changed",
};

function DryRunResult({ answer }: { answer: ApplyPolicyResponse }) {
  return (
    <section className="preview" aria-label="Dry run result">
      <h3>Dry run: {answer.changes.length === 0 ? "no change" : `${answer.changes.length} change(s)`}</h3>
      {answer.changes.length > 0 && (
        <ul className="changes" aria-label="Changes">
          {answer.changes.map((c, i) => (
            <li key={i} className={`change-${KIND[c.kind]}`}>
              <span className="badge">{KIND[c.kind]}</span> {c.path}
            </li>
          ))}
        </ul>
      )}
      <h3>Drains</h3>
      {answer.drains.length === 0 ? (
        <p className="muted">No retired pool holds leads.</p>
      ) : (
        <table aria-label="Drains">
          <thead>
            <tr>
              <th scope="col">Retired pool</th>
              <th scope="col">Leads move to</th>
              <th scope="col">Leads</th>
            </tr>
          </thead>
          <tbody>
            {answer.drains.map((d) => (
              <tr key={d.pool}>
                <th scope="row">{idOf(d.pool)}</th>
                <td>{idOf(d.drainTo)}</td>
                <td>{count(d.leads)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function VersionList({ versions }: { versions: { version: bigint; displayName: string; appliedBy: string; applyTime?: import("@bufbuild/protobuf/wkt").Timestamp }[] }) {
  const [shown, setShown] = useState<bigint>();
  const doc = useAsync(async () => (shown ? (await routing.getPolicy({ version: shown })).policy?.document : undefined), [shown]);
  return (
    <>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Name</th>
              <th scope="col">Applied by</th>
              <th scope="col">When</th>
              <th scope="col">
                <span className="visually-hidden">Document</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={String(v.version)}>
                <th scope="row">{String(v.version)}</th>
                <td>{v.displayName}</td>
                <td>{v.appliedBy}</td>
                <td>{dateTime(v.applyTime)}</td>
                <td>
                  <button type="button" onClick={() => setShown(shown === v.version ? undefined : v.version)} aria-label={`Show version ${v.version}`}>
                    {shown === v.version ? "Hide" : "Show"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {shown && doc.data && (
        <pre className="document" aria-label={`Version ${shown}`}>
          {doc.data}
        </pre>
      )}
    </>
  );
}
