import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiSchema, ApiTags } from '@nestjs/swagger';
import { packageVersion } from '../config/package-root.js';
import { DOCS_PATH, OPENAPI_JSON_PATH } from '../openapi/openapi.js';
import { TAGS } from '../openapi/tags.js';

@ApiSchema({ name: 'IndexLinks', description: 'Where to go next: paths on this server.' })
export class IndexLinks {
  @ApiProperty({ example: '/docs', description: 'Swagger UI of the API.' })
  docs!: string;

  @ApiProperty({ example: '/openapi.json', description: 'The OpenAPI document.' })
  openapi!: string;

  @ApiProperty({ example: '/dashboard', description: 'The live dashboard (needs the admin token).' })
  dashboard!: string;

  @ApiProperty({ example: '/health/ready', description: 'Readiness probe.' })
  ready!: string;

  @ApiProperty({ example: '/v1/events', description: 'Subscribe: `GET /v1/events?topic=…`.' })
  events!: string;

  @ApiProperty({ example: '/client/herald.js', description: 'The browser client (ES module).' })
  client!: string;
}

@ApiSchema({ name: 'Index', description: 'What answers here, and the links an operator needs first.' })
export class IndexView {
  @ApiProperty({ example: 'herald' })
  name!: string;

  @ApiProperty({ example: '0.1.0', description: "The server's version (package.json)." })
  version!: string;

  @ApiProperty({ example: 'Server-Sent Events gateway' })
  description!: string;

  @ApiProperty({ type: IndexLinks })
  links!: IndexLinks;
}

const INDEX: IndexView = {
  name: 'herald',
  version: packageVersion(),
  description: 'Server-Sent Events gateway',
  links: {
    docs: DOCS_PATH,
    openapi: OPENAPI_JSON_PATH,
    dashboard: '/dashboard',
    ready: '/health/ready',
    events: '/v1/events',
    client: '/client/herald.js',
  },
};

/** `GET /`: a first visitor (a browser, curl) learns what this is instead of a bare 404. */
@Controller()
@ApiTags(TAGS.documentation)
export class IndexController {
  @Get()
  @ApiOperation({
    operationId: 'getIndex',
    summary: "The server's name and version, with links to the docs, the dashboard and readiness",
  })
  @ApiOkResponse({ type: IndexView, description: 'Links are paths on this server.' })
  index(): IndexView {
    return INDEX;
  }
}
