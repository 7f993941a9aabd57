// The numbers behind a panel, as a two-column table people (and tests) can read exactly.
import type { ReactNode } from "react";

export function Figures({ label, rows }: { label: string; rows: [string, ReactNode][] }) {
  return (
    <table className="figures" aria-label={label}>
      <tbody>
        {rows.map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
