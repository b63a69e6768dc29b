import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Controller, Get, Header, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from './generation-api.options';
import { DocsRoute } from './governance/auth.decorators';
import { buildOpenApiDocument } from './openapi-document';
import { StrataRoutes } from './strata-routes.decorator';

/** Swagger UI's files, served from the swagger-ui-dist package so the docs work offline. */
const UI_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Strata generation API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });</script>
</body>
</html>
`;

/**
 * `GET /openapi.json` and the Swagger UI at `/docs`: public by default, so a browser can open them; with
 * `docsPublic: false` (DOCS_PUBLIC=false) they need a key that may generate.
 */
@DocsRoute()
@StrataRoutes()
@Controller()
export class DocsController {
  /** Built on first request, not at start-up, where it would cost about 10 ms. */
  private document: Record<string, unknown> | undefined;
  private readonly assetDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));

  constructor(@Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions) {}

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    this.document ??= buildOpenApiDocument(this.options.version, {
      metricsPublic: this.options.metricsPublic,
      docsPublic: this.options.docsPublic !== false,
    });
    return this.document;
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return DOCS_PAGE;
  }

  @Get('docs/:asset')
  async asset(
    @Param('asset') asset: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const type = UI_ASSETS[asset];
    if (!type) throw new NotFoundException(`no docs asset ${asset}`);
    void reply.type(type);
    return readFile(path.join(this.assetDir, asset));
  }
}
