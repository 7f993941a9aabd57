// Signing in: development sign-in lists the people of the policy in force to pick from
// (DevSignInService); OIDC sends the browser to the company's identity provider.
import { devSignIn } from "../api/clients";
import type { Refusal } from "../api/refusal";
import type { ConsoleConfig } from "../auth/config";
import { Page, Panel } from "../components/Page";
import { RefusalMessage } from "../components/Refusal";
import { Empty, Loaded } from "../components/States";
import { useAsync } from "../hooks/useAsync";

export function SignInPage({
  config,
  pending,
  refusal,
  onDevSignIn,
  onOidcSignIn,
}: {
  config: ConsoleConfig;
  pending: boolean;
  refusal?: Refusal;
  onDevSignIn: (subject: string) => void;
  onOidcSignIn: () => void;
}) {
  return (
    <Page title="Sign in">
      <RefusalMessage refusal={refusal} />
      {config.signIn === "dev" ? (
        <DevPeople pending={pending} onPick={onDevSignIn} />
      ) : (
        <Panel title="Your company account">
          <p>Sign in with your company's identity provider.</p>
          <button type="button" disabled={pending} onClick={onOidcSignIn}>
            Sign in with your company account
          </button>
        </Panel>
      )}
    </Page>
  );
}

function DevPeople({ pending, onPick }: { pending: boolean; onPick: (subject: string) => void }) {
  const people = useAsync(async () => (await devSignIn.listPeople({})).people, []);
  return (
    <Panel title="Development sign-in: who are you?">
      <p className="muted">This deployment uses development sign-in: pick anyone of the policy in force.</p>
      <Loaded state={people} what="the people">
        {(list) =>
          list.length === 0 ? (
            <Empty>Nobody to sign in as.</Empty>
          ) : (
            <ul className="people">
              {list.map((p) => (
                <li key={p.subject}>
                  <button type="button" disabled={pending} onClick={() => onPick(p.subject)} aria-label={`Sign in as ${p.displayName}`}>
                    {p.displayName}
                  </button>{" "}
                  <span className="muted small">
                    {p.roles.join(", ")}
                    {p.team && ` · team ${p.team}`} · {p.subject}
                  </span>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </Panel>
  );
}
