import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from './generation-api.options';

/**
 * Starts and stops what the module runs, through Nest's lifecycle: the retention timer and the periodic
 * audit-chain verification start with the application; on shutdown (after the HTTP server has stopped taking requests and finished those in flight) the
 * model host drains its batch, the audit writer commits what it holds, and the resources handed over in
 * `ownedResources` close in order (outbox relay, event bus, database, data-directory lock in a standalone).
 * A host application that closes its Nest app therefore closes Strata too.
 */
@Injectable()
export class GenerationApiLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private retentionTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(@Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions) {}

  onApplicationBootstrap(): void {
    this.options.governance.auditMonitor?.start();
    const hours = this.options.retentionIntervalHours ?? 0;
    if (hours === 0) return;
    const { governance, logger, retentionDays } = this.options;
    const run = () =>
      governance.audit
        .applyRetention(retentionDays, { keyId: null, tenant: null })
        .then((purged) => logger.info({ purged }, 'audit retention applied'))
        .catch((error: unknown) => logger.error({ err: error }, 'audit retention failed'));
    void run();
    this.retentionTimer = setInterval(run, hours * 3_600_000);
    this.retentionTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.retentionTimer);
    const { logger } = this.options;
    const steps: [string, () => Promise<void>][] = [
      ['audit-chain monitor', async () => this.options.governance.auditMonitor?.stop()],
      ['model host', () => this.options.modelHost.stop()],
      ['aggregated denials', () => this.options.governance.close()],
      ['audit writer', () => this.options.governance.audit.drain()],
      ...(this.options.ownedResources ?? []).map((resource): [string, () => Promise<void>] => [
        resource.name,
        () => resource.close(),
      ]),
    ];
    // Each step runs even when an earlier one failed, so one stuck part cannot keep the database open.
    for (const [name, close] of steps) {
      try {
        await close();
      } catch (error) {
        logger.error({ err: error, resource: name }, 'closing failed during shutdown');
      }
    }
  }
}
