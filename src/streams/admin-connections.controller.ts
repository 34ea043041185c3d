import { Controller, Delete, Get, HttpCode, NotFoundException, Param, UseGuards } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { TAGS } from '../openapi/tags.js';
import { ApiAdminAuth } from '../openapi/security.js';
import { ConnectionRegistry, type ConnectionView } from './connection-registry.js';
import { Connection } from './streams.schema.js';

@Controller('v1/admin/connections')
@UseGuards(AdminGuard)
@ApiTags(TAGS.connections)
@ApiAdminAuth()
export class AdminConnectionsController {
  constructor(private readonly registry: ConnectionRegistry) {}

  @Get()
  @ApiOperation({ operationId: 'listConnections', summary: 'List the open event streams of this instance' })
  @ApiOkResponse({ type: [Connection], description: 'Every open stream, in no particular order.' })
  list(): ConnectionView[] {
    return this.registry.list();
  }

  /** Kick: the stream gets `event: close` (`kicked`); the client may reconnect and resume. */
  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'kickConnection',
    summary: 'Close one stream',
    description:
      'The stream gets `event: close` with reason `kicked`, then ends. The client may reconnect and resume with ' +
      'its `Last-Event-ID` (revoke its token first to keep it out).',
  })
  @ApiParam({ name: 'id', description: 'A connection id from `GET /v1/admin/connections`.', example: 'k3x9a1' })
  @ApiNoContentResponse({ description: 'Closed.' })
  @ApiErrors({
    404: { description: 'No open stream has this id.', examples: { unknown: 'no connection "k3x9a1"' } },
  })
  kick(@Param('id') id: string): void {
    const subscription = this.registry.get(id);
    if (!subscription) throw new NotFoundException(`no connection ${JSON.stringify(id)}`);
    subscription.close('kicked');
  }
}
