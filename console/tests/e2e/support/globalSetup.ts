// Before the suite: clean up after earlier runs that were killed before they could — a
// `leadpool_console_*` database nobody is connected to (a running stack always is), and the
// `console-test:<id>:` Redis keys of stacks whose database is gone.
import { deleteRedisKeys, psql, redisKeys } from "./stack";

export default async function globalSetup(): Promise<void> {
  const stale = await psql(
    `SELECT datname FROM pg_database d WHERE datname LIKE 'leadpool\\_console\\_%'
       AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
  );
  for (const name of stale.split("\n").filter(Boolean)) {
    await psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
  const live = new Set(
    (await psql(`SELECT datname FROM pg_database WHERE datname LIKE 'leadpool\\_console\\_%'`)).split("\n").filter(Boolean),
  );
  const ids = new Set((await redisKeys("console-test:*")).map((key) => key.split(":")[1]));
  for (const id of ids) {
    if (!live.has(`leadpool_console_${id}`)) await deleteRedisKeys(`console-test:${id}:`);
  }
}
