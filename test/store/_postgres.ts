/**
 * Helpers shared by the PostgresKeyStore tests (PGlite and a real PostgreSQL server): every value of
 * every table of the store's schema as bytes, for the plaintext scan.
 */
import type { SqlClient } from '../../src/store/postgres.js';

const encoder = new TextEncoder();

/** Each column of each row of deks, audit and meta: bytea as it is, everything else as UTF-8 text. */
export async function tableBytes(client: SqlClient, schema: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const table of ['deks', 'audit', 'meta']) {
    const { rows } = await client.query(`SELECT * FROM "${schema}".${table}`, []);
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        out.push(encoder.encode(column));
        if (value instanceof Uint8Array) out.push(new Uint8Array(value));
        else if (value !== null) out.push(encoder.encode(String(value)));
      }
    }
  }
  return out;
}
