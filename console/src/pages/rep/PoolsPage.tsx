// "My pools": every pool of the policy, and whether she may claim from it right now and why
// (ExplainAccess per pool: the access rule, the time window, or every reason it is refused).
import { claim, routing } from "../../api/clients";
import { Page } from "../../components/Page";
import { Empty, Loaded } from "../../components/States";
import { durationText, idOf } from "../../format";
import type { ExplainAccessResponse } from "../../gen/leadpool/v1/claim_service_pb";
import { type Pool, PoolKind } from "../../gen/leadpool/v1/pool_pb";
import { useAsync } from "../../hooks/useAsync";
import { Link } from "../../router";

interface PoolAccess {
  pool: Pool;
  access?: ExplainAccessResponse;
  accessError?: string;
}

export async function listAllPools(): Promise<Pool[]> {
  const pools: Pool[] = [];
  let pageToken = "";
  do {
    const page = await routing.listPools({ pageSize: 1000, pageToken });
    pools.push(...page.pools);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return pools;
}

const KINDS: Record<PoolKind, string> = {
  [PoolKind.UNSPECIFIED]: "pool",
  [PoolKind.OPEN]: "open pool",
  [PoolKind.SEGMENTED]: "segmented pool",
  [PoolKind.TIERED]: "tiered pool",
  [PoolKind.TIMED]: "timed pool",
};

export function poolKind(kind: PoolKind): string {
  return KINDS[kind] ?? "pool";
}

export function PoolsPage() {
  const state = useAsync(async () => {
    const pools = await listAllPools();
    const rows: PoolAccess[] = await Promise.all(
      pools.map(async (pool) => {
        try {
          return { pool, access: await claim.explainAccess({ pool: pool.name }) };
        } catch (err) {
          return { pool, accessError: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    return rows.sort((a, b) => Number(!!b.access?.allowed) - Number(!!a.access?.allowed));
  }, []);

  return (
    <Page title="My pools" intro="The pools you may claim from right now, and why — and those you may not.">
      <Loaded state={state} what="your pools">
        {(rows) =>
          rows.length === 0 ? (
            <Empty>The policy in force has no pools yet.</Empty>
          ) : (
            <ul className="cards" aria-label="Pools">
              {rows.map((row) => (
                <PoolCard key={row.pool.name} row={row} />
              ))}
            </ul>
          )
        }
      </Loaded>
    </Page>
  );
}

function PoolCard({ row }: { row: PoolAccess }) {
  const { pool, access } = row;
  const title = pool.displayName || idOf(pool.name);
  const headingId = `pool-${idOf(pool.name)}`;
  return (
    <li className="card" aria-labelledby={headingId}>
      <h2 id={headingId} className="card-title">
        {title}
      </h2>
      <p className="muted">
        {poolKind(pool.kind)} · {Number(pool.availableLeads)} available · contact within {durationText(pool.contactSla)}
      </p>
      {access ? (
        <div className={access.allowed ? "ok" : "not-allowed"}>
          <p>{access.allowed ? "You may claim here." : "Not open to you now:"}</p>
          <ul className="small">
            {access.reasons.map((reason, i) => (
              <li key={i}>{reason}</li>
            ))}
            {access.window && <li>{access.window}</li>}
          </ul>
        </div>
      ) : (
        <p className="muted">Access could not be checked: {row.accessError}</p>
      )}
      <Link to={`/pools/${idOf(pool.name)}`} className="button" aria-label={`Open pool ${title}`}>
        Open pool
      </Link>
    </li>
  );
}
