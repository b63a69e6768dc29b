import type * as PGliteModule from '@electric-sql/pglite';
import type { PGlite, Results } from '@electric-sql/pglite';

interface Statement {
  name: string;
  paramTypes: number[];
}

/** How many statements stay prepared; the least recently used one is closed beyond it. */
const MAX_STATEMENTS = 200;

/** Statements worth preparing: data queries. Schema changes go the plain way and forget what was prepared. */
const DATA_STATEMENT = /^\s*(select|insert|update|delete|with|values)\b/i;

/**
 * Named prepared statements on PGlite's one connection.
 *
 * PGlite's `query` runs each call as six separate trips into WebAssembly (parse, describe, bind, describe,
 * execute, sync) and parses and plans the SQL every time: about 0.15 ms for `select 1` on a 2-core machine,
 * which made most of an audit append's cost. Here a statement is parsed once under a name, and each run is
 * one trip (bind, describe, execute and sync in one message), in which PostgreSQL can also reuse its plan.
 * Parameters are serialised and results parsed with PGlite's own serialisers and parsers, so values come back
 * exactly as from `query`.
 *
 * Only data statements are prepared ({@link PGliteStatements.handles}). Anything else (DDL, `deallocate`) runs
 * through `query` and then resets the cache. PostgreSQL itself re-plans a prepared statement whose tables
 * changed, and each run describes its result afresh, so a changed table shape shows at once.
 *
 * Callers must hold PGlite's query lock (`_runExclusiveQuery`): the messages go straight to the backend.
 */
export class PGliteStatements {
  /** By SQL text, least recently used first (a Map keeps insertion order). */
  private readonly statements = new Map<string, Statement>();
  /** Names evicted from the cache, closed with the next message. */
  private closing: string[] = [];
  private counter = 0;

  constructor(
    private readonly db: PGlite,
    private readonly pglite: typeof PGliteModule,
  ) {}

  /** Whether `sql` is a data statement, which {@link PGliteStatements.run} takes. */
  static handles(sql: string): boolean {
    return DATA_STATEMENT.test(sql);
  }

  /** Runs `sql` with `params` and returns PGlite's result, preparing the statement on first use. */
  async run(sql: string, params: readonly unknown[]): Promise<Results> {
    const { serialize } = this.pglite.protocol;
    const statement = this.statements.get(sql) ?? (await this.prepare(sql));
    this.statements.delete(sql);
    this.statements.set(sql, statement);
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = this.db.serializers[statement.paramTypes[i] ?? 0];
      return serializer ? serializer(value) : String(value);
    });
    const parts = [
      ...this.closing.map((name) => serialize.close({ type: 'S', name })),
      serialize.bind({ statement: statement.name, values }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    ];
    this.closing = [];
    const messages = await this.db.execProtocolStream(concat(parts), { syncToFs: false });
    return this.pglite.parse.parseResults(messages, this.db.parsers)[0]!;
  }

  /** Forgets every statement (closing them with the next message), e.g. after a script changed the schema. */
  reset(): void {
    for (const { name } of this.statements.values()) this.closing.push(name);
    this.statements.clear();
  }

  private async prepare(sql: string): Promise<Statement> {
    const { serialize } = this.pglite.protocol;
    const name = `strata_${++this.counter}`;
    const messages = await this.db.execProtocolStream(
      concat([
        serialize.parse({ name, text: sql }),
        serialize.describe({ type: 'S', name }),
        serialize.sync(),
      ]),
      { syncToFs: false },
    );
    const statement = { name, paramTypes: this.pglite.parse.parseDescribeStatementResults(messages) };
    if (this.statements.size >= MAX_STATEMENTS) {
      const [oldest] = this.statements;
      if (oldest) {
        this.statements.delete(oldest[0]);
        this.closing.push(oldest[1].name);
      }
    }
    return statement;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
