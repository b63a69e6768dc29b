import { Module, type Provider } from '@nestjs/common';
import { DocsController } from './docs.controller';
import {
  GENERATION_API_OPTIONS,
  GenerationApiConfigurableModule,
  type GenerationApiOptions,
} from './generation-api.options';
import { AdminController } from './governance/admin.controller';
import { DataController } from './data/data.controller';
import { ModelController } from './model/model.controller';
import { GenerationApiLifecycle } from './generation-api.lifecycle';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { OpenAiController } from './openai.controller';
import { TgiController } from './tgi.controller';
import { APP_LOGGER, METRICS_REGISTRY, MODEL_HOST } from './tokens';

const fromOptions = (token: symbol, pick: (o: GenerationApiOptions) => unknown): Provider => ({
  provide: token,
  useFactory: pick,
  inject: [GENERATION_API_OPTIONS],
});

/**
 * The generation API: health root and probes, TGI- and OpenAI-compatible generation, `/metrics`, and OpenAPI
 * docs.
 * Business applications import it into their own Nest app with `register` or `registerAsync`. It installs no
 * global guard or filter: authentication, the wire text rule and the error shapes are bound to its own controllers
 * (`@StrataRoutes()`), and what it runs stops with the application (`GenerationApiLifecycle`).
 */
@Module({
  controllers: [
    HealthController,
    TgiController,
    OpenAiController,
    AdminController,
    DataController,
    ModelController,
    MetricsController,
    DocsController,
  ],
  providers: [
    GenerationApiLifecycle,
    fromOptions(MODEL_HOST, (o) => o.modelHost),
    fromOptions(METRICS_REGISTRY, (o) => o.metrics),
    fromOptions(APP_LOGGER, (o) => o.logger),
  ],
  exports: [MODEL_HOST, METRICS_REGISTRY, APP_LOGGER],
})
export class GenerationApiModule extends GenerationApiConfigurableModule {}
