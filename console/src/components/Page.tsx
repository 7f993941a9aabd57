import { type ReactNode, useEffect } from "react";

/** One page: its title (also the document's) and its panels. */
export function Page({ title, intro, children }: { title: string; intro?: ReactNode; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Leadpool`;
  }, [title]);
  return (
    <main id="main" className="page">
      <h1>{title}</h1>
      {intro && <p className="intro">{intro}</p>}
      {children}
    </main>
  );
}

/** A panel answers one question. */
export function Panel({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const id = `panel-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return (
    <section className="panel" aria-labelledby={id}>
      <header className="panel-header">
        <h2 id={id}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}
