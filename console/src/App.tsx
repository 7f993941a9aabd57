// The console: load /config.json, sign in (development or OIDC), find out who she is to
// Leadpool, and show the pages her roles allow.
import { lazy, type ReactNode, Suspense, useCallback, useEffect, useRef, useState } from "react";
import { Code } from "@connectrpc/connect";
import { explain, type Refusal } from "./api/refusal";
import { setTokenSource } from "./api/transport";
import { type ConsoleConfig, loadConsoleConfig } from "./auth/config";
import { type Identity, whoAmI } from "./auth/identity";
import { beginOidcSignIn, CALLBACK_PATH, completeOidcSignIn } from "./auth/oidc";
import { type Session, startDevSession } from "./auth/session";
import { Page } from "./components/Page";
import { Loading } from "./components/States";
import { AuditPage } from "./pages/admin/AuditPage";
import { PolicyPage } from "./pages/admin/PolicyPage";
import { WebhooksPage } from "./pages/admin/WebhooksPage";
import { EscalationsPage } from "./pages/manager/EscalationsPage";
import { TeamPage } from "./pages/manager/TeamPage";
import { LimitsPage } from "./pages/rep/LimitsPage";
import { MyLeadsPage } from "./pages/rep/MyLeadsPage";
import { PoolPage } from "./pages/rep/PoolPage";
import { PoolsPage } from "./pages/rep/PoolsPage";
import { SignInPage } from "./pages/SignInPage";
import { Link, navigate, usePath } from "./router";

// The dashboard brings the chart library: loaded when first opened.
const HealthPage = lazy(() => import("./pages/manager/HealthPage").then((m) => ({ default: m.HealthPage })));

type Phase =
  | { kind: "starting" }
  | { kind: "broken"; message: string }
  | { kind: "signed-out"; refusal?: Refusal; pending?: boolean }
  | { kind: "signed-in"; session: Session; identity: Identity };

export function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [phase, setPhase] = useState<Phase>({ kind: "starting" });

  const enter = useCallback(async (session: Session, returnTo?: string) => {
    setTokenSource(session.token);
    try {
      const identity = await whoAmI(session.displayName);
      setPhase({ kind: "signed-in", session, identity });
      if (returnTo) navigate(returnTo, true);
    } catch (err) {
      setTokenSource(null);
      await session.signOut();
      setPhase({ kind: "signed-out", refusal: signInRefusal(err, session.kind) });
    }
  }, []);

  const started = useRef(false);
  useEffect(() => {
    // Once per page load (React's development StrictMode runs effects twice; a sign-in
    // callback must be completed once).
    if (started.current) return;
    started.current = true;
    void (async () => {
      let loaded: ConsoleConfig;
      try {
        loaded = await loadConsoleConfig();
      } catch (err) {
        setPhase({ kind: "broken", message: err instanceof Error ? err.message : String(err) });
        return;
      }
      setConfig(loaded);
      if (loaded.signIn === "oidc" && window.location.pathname === CALLBACK_PATH) {
        try {
          const { session, returnTo } = await completeOidcSignIn(loaded);
          await enter(session, returnTo);
        } catch (err) {
          navigate("/", true);
          setPhase({ kind: "signed-out", refusal: { headline: "The sign-in did not complete.", details: [String(err instanceof Error ? err.message : err)], code: Code.Unauthenticated } });
        }
        return;
      }
      setPhase({ kind: "signed-out" });
    })();
  }, [enter]);

  const signOut = async () => {
    if (phase.kind !== "signed-in") return;
    setTokenSource(null);
    await phase.session.signOut();
    setPhase({ kind: "signed-out" });
    navigate("/", true);
  };

  if (phase.kind === "starting") return <Page title="Leadpool"><Loading what="the console" /></Page>;
  if (phase.kind === "broken" || !config) {
    return (
      <Page title="The console cannot start">
        <p role="alert">{phase.kind === "broken" ? phase.message : "No configuration."}</p>
      </Page>
    );
  }
  if (phase.kind === "signed-out") {
    return (
      <Shell>
        <SignInPage
          config={config}
          pending={!!phase.pending}
          refusal={phase.refusal}
          onDevSignIn={async (subject) => {
            setPhase({ kind: "signed-out", pending: true });
            try {
              await enter(await startDevSession(subject));
            } catch (err) {
              setPhase({ kind: "signed-out", refusal: explain(err) });
            }
          }}
          onOidcSignIn={async () => {
            if (config.signIn !== "oidc") return;
            setPhase({ kind: "signed-out", pending: true });
            const here = window.location.pathname + window.location.search;
            try {
              await beginOidcSignIn(config, here === CALLBACK_PATH ? "/" : here);
            } catch (err) {
              setPhase({
                kind: "signed-out",
                refusal: { headline: "The identity provider cannot be reached.", details: [String(err instanceof Error ? err.message : err)], code: Code.Unavailable },
              });
            }
          }}
        />
      </Shell>
    );
  }
  return (
    <Shell identity={phase.identity} onSignOut={signOut}>
      <Routes identity={phase.identity} />
    </Shell>
  );
}

function signInRefusal(err: unknown, kind: Session["kind"]): Refusal {
  const refusal = explain(err);
  if (refusal.code === Code.Unauthenticated) {
    refusal.headline = "Leadpool did not accept your sign-in.";
    refusal.details.unshift(
      kind === "oidc"
        ? "Your identity provider's token does not name you the way Leadpool expects (for example, it carries no email). Ask your administrator to check your account."
        : "The development token was refused.",
    );
  }
  return refusal;
}

interface NavItem {
  to: string;
  label: string;
  allowed: (i: Identity) => boolean;
}

const isRep = (i: Identity) => i.isRep;
const isManagerOrAdmin = (i: Identity) => i.isManager || i.isAdmin;
const isAdmin = (i: Identity) => i.isAdmin;

const NAV: NavItem[] = [
  { to: "/pools", label: "Pools", allowed: isRep },
  { to: "/leads", label: "My leads", allowed: isRep },
  { to: "/limits", label: "My limits", allowed: isRep },
  { to: "/escalations", label: "Escalations", allowed: isManagerOrAdmin },
  { to: "/team", label: "Team", allowed: isManagerOrAdmin },
  { to: "/health", label: "Pool health", allowed: isManagerOrAdmin },
  { to: "/policy", label: "Policy", allowed: isAdmin },
  { to: "/audit", label: "Audit log", allowed: isAdmin },
  { to: "/webhooks", label: "Webhooks", allowed: isAdmin },
];

function home(identity: Identity): string | undefined {
  return NAV.find((item) => item.allowed(identity))?.to;
}

function Shell({ identity, onSignOut, children }: { identity?: Identity; onSignOut?: () => void; children: ReactNode }) {
  const path = usePath();
  const items = identity ? NAV.filter((item) => item.allowed(identity)) : [];
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Leadpool</span>
        {items.length > 0 && (
          <nav aria-label="Main">
            <ul>
              {items.map((item) => (
                <li key={item.to}>
                  <Link to={item.to} aria-current={path === item.to || path.startsWith(`${item.to}/`) ? "page" : undefined}>
                    {item.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {identity && (
          <div className="who">
            <span>
              {identity.displayName}
              <span className="muted small"> {roleWords(identity)}</span>
            </span>
            <button type="button" onClick={onSignOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      {children}
    </>
  );
}

function roleWords(i: Identity): string {
  const roles = [i.isManager ? "manager" : i.isRep ? "rep" : undefined, i.isAdmin ? "admin" : undefined].filter(Boolean);
  return roles.length ? `(${roles.join(", ")})` : "";
}

function Routes({ identity }: { identity: Identity }) {
  const path = usePath();
  const start = home(identity);
  useEffect(() => {
    if ((path === "/" || path === CALLBACK_PATH) && start) navigate(start, true);
  }, [path, start]);

  if (path === "/" || path === CALLBACK_PATH) {
    return start ? <Loading what="your start page" /> : <NoRole />;
  }
  const pool = /^\/pools\/([a-z0-9-]+)$/.exec(path);
  const guard = (allowed: (i: Identity) => boolean, page: ReactNode, who: string) =>
    allowed(identity) ? page : <NotYours who={who} />;
  if (pool) return guard(isRep, <PoolPage poolId={pool[1]} />, "reps");
  switch (path) {
    case "/pools":
      return guard(isRep, <PoolsPage />, "reps");
    case "/leads":
      return guard(isRep, <MyLeadsPage />, "reps");
    case "/limits":
      return guard(isRep, <LimitsPage />, "reps");
    case "/escalations":
      return guard(isManagerOrAdmin, <EscalationsPage identity={identity} />, "managers");
    case "/team":
      return guard(isManagerOrAdmin, <TeamPage identity={identity} />, "managers");
    case "/health":
      return guard(
        isManagerOrAdmin,
        <Suspense fallback={<Loading what="the dashboard" />}>
          <HealthPage />
        </Suspense>,
        "managers",
      );
    case "/policy":
      return guard(isAdmin, <PolicyPage />, "administrators");
    case "/audit":
      return guard(isAdmin, <AuditPage />, "administrators");
    case "/webhooks":
      return guard(isAdmin, <WebhooksPage />, "administrators");
    default:
      return (
        <Page title="Page not found">
          <p>
            There is no page at {path}. <Link to="/">Go to your start page</Link>.
          </p>
        </Page>
      );
  }
}

function NotYours({ who }: { who: string }) {
  return (
    <Page title="Not available to you">
      <p>This page is for {who}. The menu shows the pages you may use.</p>
    </Page>
  );
}

function NoRole() {
  return (
    <Page title="No role in Leadpool">
      <p role="alert">
        You are signed in, but Leadpool knows no role for you: you are not a rep of the policy in force, a manager or an
        administrator. Ask your administrator to add you.
      </p>
    </Page>
  );
}
